import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { launchBrowser, openFile } from "../helpers/browser.js";
import { MARKS } from "../../src/render/matrix-text.js";
import { parse } from "yaml";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { ReachabilityMatrix } from "../../src/model/matrix.js";
import { cliAsync as cli } from "../helpers/cli.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { TestApiServer } from "../k8s-api/server.js";

/**
 * `ovnkube-trace matrix` end to end, the built CLI (`npm run build` first) on the lab of examples/matrix.yaml:
 * --lab, --snapshot and live (through the test API server that serves the lab's objects and runs each exec in
 * the lab node of its pod) say the same of the same cells; -o json validates against schema/matrix.schema.json;
 * --help names every flag; bad input exits as the rest of the CLI.
 */

const schema = JSON.parse(
  readFileSync(new URL("../../schema/matrix.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true, strict: false }).compile(schema);

/** A cell as a comparable line: who, to whom, on what, verdict and deciding objects. */
const cellLines = (m: ReachabilityMatrix): string[] =>
  m.cells.map((c) => {
    const s = m.sources[c.from];
    const d = m.destinations[c.to];
    const p = m.ports[c.port];
    const objects = c.objects.map((o) => `${o.kind}:${o.namespace ?? ""}/${o.name}`).join(",");
    return `${s?.namespace ?? ""}/${s?.name ?? ""} ${d?.kind ?? ""}:${d?.namespace ?? ""}/${d?.name ?? ""} ${p?.protocol ?? ""}/${String(p?.port)} ${c.verdict} ${c.direction ?? ""} ${objects}`;
  });

describe("ovnkube-trace matrix (built CLI, interconnect lab of examples/matrix.yaml)", () => {
  let state: LabState;
  let server: TestApiServer;
  let kube: string[];
  let lab: string[];
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}matrix.yaml`), newLabDir())).state;
    server = await serveLab(state);
    kube = ["--kubeconfig", server.writeKubeconfig(newLabDir())];
    lab = ["--lab", state.dir];
  });
  afterAll(async () => {
    await server.close();
    await labDown(state.dir);
  });

  const json = async (args: readonly string[]): Promise<ReachabilityMatrix> => {
    const r = await cli(["matrix", ...args, "-o", "json"]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    return JSON.parse(r.stdout) as ReachabilityMatrix;
  };

  /** A small selection: the frontends to api and data, their Services, two ports. */
  const SMALL = [
    "--from-namespace",
    "shop",
    "--from-selector",
    "app=frontend",
    "--to-namespace",
    "api,data",
    "--to-selector",
    "app in (orders,users,postgres)",
    "--services",
    "--port",
    "tcp/8080",
    "--port",
    "tcp/5432,tcp/80",
  ];

  it("--help names every flag and what the marks mean", async () => {
    const r = await cli(["matrix", "--help"]);
    expect(r.code).toBe(0);
    for (const flag of [
      "--port",
      "-n, --namespace",
      "-A, --all-namespaces",
      "--from-namespace",
      "--from-selector",
      "--to-namespace",
      "--to-selector",
      "--services",
      "--addr-family",
      "--src-port",
      "--openflow",
      "--parallel",
      "-o, --output",
      "--timeout",
      "--no-color",
      "--kubeconfig",
      "--context",
      "--lab",
      "--snapshot",
    ])
      expect(r.stdout, flag).toContain(flag);
    expect(r.stdout).toContain("✓ allowed, ✗ dropped, R rejected");
    expect(r.stdout).toContain("schema/matrix.schema.json");
    expect((await cli(["--help"])).stdout).toMatch(/\n {2}matrix \[options\] +who can reach whom/);
  });

  it("prints the matrix of 3 namespaces × 24 pods × 3 ports as text: the grid, the legend, why", async () => {
    const r = await cli([
      "matrix",
      ...lab,
      "-n",
      "shop,api,data",
      "--services",
      "--port",
      "tcp/8080,tcp/5432,udp/53",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    const lines = r.stdout.split("\n");
    expect(lines[0]).toBe(
      "reachability of 24 source pod(s) to 25 destination(s) on tcp/8080, tcp/5432, udp/53: 1752 cells",
    );
    // a row per source: its name, then a block of 3 marks per destination (a Service's ports it lacks: ·)
    const row = lines.find((l) => l.startsWith("data/backup-28f1 "));
    // backup-egress lets it reach only postgres on TCP 5432 (whose ingress rule 1 admits it)
    expect(row?.split(/ +/).slice(1)).toEqual([
      ...Array.from({ length: 17 }, () => "✗✗✗"), // shop, api, data/analytics-0
      "===", // itself
      "✗✗✗", // data/etl
      "✗✓✗", // data/postgres-0
      "✗✓✗", // data/postgres-1
      "✗✗✗", // data/redis ×3
      "✗✗✗",
      "✗✗✗",
      "·✓·", // service data/postgres (the other Services expose none of these ports)
    ]);
    expect(r.stdout).toContain("legend: ✓ allowed, ✗ dropped, R rejected");
    expect(r.stdout).toMatch(
      /\n {2}✗ +\d+ dropped: egress default deny of NetworkPolicy data\/backup-egress\n/,
    );
    expect(r.stdout).toMatch(/allowed \d+, dropped \d+, self 72; 1752 cells in/);
  });

  it("-o json: one document of the schema; yaml the same", async () => {
    const m = await json([...lab, ...SMALL]);
    expect(validate(m), JSON.stringify(validate.errors)).toBe(true);
    expect(m.kind).toBe("ReachabilityMatrix");
    expect(m.sources.map((s) => s.name)).toEqual([
      "frontend-7c9d-a1",
      "frontend-7c9d-b2",
      "frontend-7c9d-c3",
    ]);
    expect(m.destinations.map((d) => `${d.kind} ${d.name}`)).toEqual([
      "pod orders-6b8f-a1",
      "pod orders-6b8f-b2",
      "pod orders-6b8f-c3",
      "pod users-9d7c-a1",
      "pod users-9d7c-b2",
      "pod postgres-0",
      "pod postgres-1",
      "service orders",
      "service postgres",
    ]);
    expect(m.cells).toHaveLength(3 * (7 * 3 + 2));
    const viaService = m.cells.find((c) => m.destinations[c.to]?.name === "orders" && c.from === 0);
    expect(viaService?.verdict).toBe("allowed");
    expect(viaService?.backends?.map((b) => `${b.pod.name} ${b.verdict}`)).toEqual([
      "orders-6b8f-a1 allowed",
      "orders-6b8f-b2 allowed",
      "orders-6b8f-c3 allowed",
    ]);
    const y = await cli(["matrix", ...lab, ...SMALL, "-o", "yaml"]);
    expect(y.code).toBe(0);
    expect(cellLines(parse(y.stdout) as ReachabilityMatrix)).toEqual(cellLines(m));
  });

  it("-o html: a heat map in a real browser, a row per source, each cell's verdict mark and its reason on hover, as -o json", async () => {
    const m = await json([...lab, ...SMALL]);
    const r = await cli(["matrix", ...lab, ...SMALL, "-o", "html"]);
    expect(r.code, r.stderr).toBe(0);
    const file = join(newLabDir(), "matrix.html");
    writeFileSync(file, r.stdout);
    const b = await launchBrowser();
    try {
      const opened = await openFile(b, file);
      expect(opened.errors).toEqual([]);
      expect(opened.foreign).toEqual([]);
      const rows = await opened.page.$$eval("table.heat tbody tr", (trs) =>
        trs.map((tr) => ({
          source: tr.querySelector("th")?.textContent ?? "",
          cells: [...tr.querySelectorAll("td")].map((td) => ({
            verdict: td.getAttribute("data-verdict") ?? "",
            mark: td.textContent,
            title: td.getAttribute("title") ?? "",
          })),
        })),
      );
      expect(rows.map((x) => x.source)).toEqual(m.sources.map((x) => `${x.namespace}/${x.name}`));
      const shown = rows.flatMap((x) => x.cells).filter((c) => c.verdict !== "");
      expect(shown.map((c) => c.verdict).sort()).toEqual(m.cells.map((c) => c.verdict).sort());
      for (const c of shown) {
        expect(c.mark).toBe(MARKS[c.verdict as keyof typeof MARKS]);
        expect(c.title).toContain(`: ${c.verdict}. `);
      }
      // a dropped cell's hover names the NetworkPolicy, as the JSON's explanation does
      const dropped = m.cells.find((c) => c.verdict === "dropped");
      if (dropped !== undefined) expect(shown.some((c) => c.title.includes(dropped.explanation))).toBe(true);
    } finally {
      await b.close();
    }
  });

  it("--lab, --snapshot and a live cluster (the API server) say the same of every cell", async () => {
    const fromLab = await json([...lab, ...SMALL]);
    const before = server.requests.length;
    const live = await json([...kube, ...SMALL]);
    expect(live.cluster.backend).toBe("kube");
    // a live cluster is only read: GETs, and execs of tracing and read commands
    const asked = server.requests.slice(before);
    expect(asked.filter((q) => q.method !== "GET")).toEqual([]);
    const commands = asked.filter((q) => q.ws).map((q) => (q.query.command ?? []).join(" "));
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) {
      expect(c).toMatch(/^(ovn-trace |ovs-appctl ofproto\/trace |sh -c )/);
      if (c.startsWith("sh -c "))
        for (const line of c.split("\n").filter((l) => l.startsWith("{ ")))
          expect(line).toMatch(
            /^\{ (ovs-vsctl --format=json .* list interface|ovs-appctl dpif\/show|ovn-sbctl --format=json .* list (chassis|encap)|ovsdb-client backup )/,
          );
    }
    expect(cellLines(live)).toEqual(cellLines(fromLab));
    const snap = join(newLabDir(), "snap");
    const collected = await cli(["snapshot", "collect", ...lab, "--out", snap]);
    expect(collected.code, collected.stderr).toBe(0);
    const offline = await json(["--snapshot", snap, ...SMALL]);
    expect(offline.cluster.backend).toBe("snapshot");
    expect(cellLines(offline)).toEqual(cellLines(fromLab));
  }, 300_000);

  it("--openflow runs the full trace of each cell: it agrees", async () => {
    const r = await cli([
      "matrix",
      ...lab,
      "--from-namespace",
      "data",
      "--from-selector",
      "app in (backup,etl)",
      "--to-namespace",
      "data,shop",
      "--to-selector",
      "app in (postgres,frontend)",
      "--services",
      "--port",
      "tcp/5432,tcp/80",
      "--openflow",
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\nOpenFlow agrees on every cell \(\d+ full traces\)\n/);
    expect(r.stdout).toContain("confirmed by OpenFlow (ofproto/trace on every node)");
  }, 300_000);

  it.each([
    [["--port", "tcp/80", "-n", "nope"], 3, 'error: namespace "nope" not found'],
    [["-n", "shop"], 2, "error: give at least one --port"],
    [["--port", "80"], 2, 'error: --port "80" is not PROTOCOL/PORT'],
    [["--port", "tcp/80", "--from-selector", "app in ("], 2, 'error: --from-selector "app in ("'],
    [["--port", "tcp/80", "-A", "-n", "shop"], 2, "error: give -A (every namespace) or namespaces, not both"],
    [["--port", "tcp/80", "-o", "xml"], 2, 'error: -o must be text, json, yaml or html, not "xml"'],
    [["--port", "tcp/80", "--addr-family", "ip5"], 2, 'error: --addr-family must be ip4 or ip6, not "ip5"'],
  ])("bad input %j: exit %i", async (args, code, message) => {
    const r = await cli(["matrix", ...lab, ...args]);
    expect(r.stderr).toContain(message);
    expect(r.code).toBe(code);
    expect(r.stdout).toBe("");
  });

  it("no lab running: exit 5, saying how to start one", async () => {
    const r = await cli(["matrix", "--lab", join(newLabDir(), "none"), "--port", "tcp/80"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toContain("hint: start one with: ovnkube-trace lab up");
  });
});
