import { existsSync, readFileSync, rmSync, truncateSync, writeFileSync, cpSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { cliAsync } from "../helpers/cli.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { Hop, TraceReport } from "../../src/model/report.js";
import { isAlive } from "../../src/ovs/daemon.js";
import { run } from "../../src/ovs/exec.js";
import type { SnapshotManifest } from "../../src/snapshot/format.js";
import { readReplica, replicaDir } from "../../src/snapshot/replica.js";
import { CASES, client, type Case } from "../helpers/cases.js";
import { examplePods, newLabDir, waitForMacLearning } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { ExecRequest, TestApiServer } from "../k8s-api/server.js";

/**
 * Offline snapshots, end to end: collected from the lab through the test API server (the same
 * read-only execs a real cluster gets), replayed in a local replica, and traced there. Every
 * offline verdict must equal the live one on the same matrix as the fidelity test (whose verdicts
 * equal real packets).
 */
const SCENARIO = `${EXAMPLES_DIR}kind-dualstack.yaml`;
const SRC_PORT = 41234;

const cli = cliAsync;

/** What a verdict says, without the trace-text line references (recirculation ids differ). */
function meaning(v: unknown): unknown {
  if (v === undefined) return undefined;
  return JSON.parse(JSON.stringify(v, (k, x: unknown) => (k === "source" ? undefined : x))) as unknown;
}

const hopSummary = (h: Hop): string => `${h.tool}@${h.node}: ${JSON.stringify(meaning(h.outcome))}`;

async function traceAll(b: ClusterBackend, c: Case): Promise<TraceReport[]> {
  const r = await resolveTarget(b, c.target);
  return runTraces(b, r, { skipDetrace: true, allBackends: true, srcPort: SRC_PORT });
}

function expectSameReports(live: TraceReport[], offline: TraceReport[], what: string): void {
  expect(offline.length, what).toBe(live.length);
  live.forEach((l, i) => {
    const o = offline[i];
    for (const dir of ["forward", "reply"] as const) {
      expect(meaning(o?.[dir]?.verdict), `${what}: ${dir} verdict`).toEqual(meaning(l[dir]?.verdict));
      expect(o?.[dir]?.hops.map(hopSummary), `${what}: ${dir} hops`).toEqual(l[dir]?.hops.map(hopSummary));
    }
  });
}

/** Top-level comma-separated actions (commas inside parentheses belong to their action). */
function topLevel(actions: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = "";
  for (const ch of actions) {
    if (ch === "," && depth === 0) {
      out.push(cur);
      cur = "";
      continue;
    }
    if (ch === "(") depth++;
    if (ch === ")") depth--;
    cur += ch;
  }
  return [...out, cur];
}

/**
 * The last `Datapath actions` of an ofproto/trace with odp port numbers named (they differ on a
 * replica), and each run of plain outputs sorted: NORMAL floods in no fixed order (NOTES pitfall 16).
 */
async function namedActions(b: ClusterBackend, node: string, argv: readonly string[]): Promise<string> {
  const [trace, dpif] = await Promise.all([
    b.execOnNode(node, argv),
    b.execOnNode(node, ["ovs-appctl", "dpif/show"]),
  ]);
  const names = new Map<string, string>();
  for (const line of dpif.stdout.split("\n")) {
    const m = /^\s+(\S+) \d+\/(\d+):/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) names.set(m[2], m[1]);
  }
  const actions = [...trace.stdout.matchAll(/^Datapath actions: (.*)$/gm)].at(-1)?.[1] ?? "(none)";
  // recirculation ids are allocated as translations come: recirc(0x..), and a controller continuation's recirc_id=N
  const masked = actions
    .replace(/recirc\(0x[0-9a-f]+\)/g, "recirc(X)")
    .replace(/\brecirc_id=\d+/g, "recirc_id=X");
  const named = topLevel(masked).map((a) =>
    /^\d+$/.test(a)
      ? (names.get(a) ?? a)
      : a.replace(/out_port\((\d+)\)/g, (_, p: string) => `out_port(${names.get(p) ?? p})`),
  );
  const runs: string[][] = [];
  for (const a of named) {
    const last = runs.at(-1);
    const plain = !/[(=]/.test(a);
    if (plain && last !== undefined && !/[(=]/.test(last[0] ?? "(")) last.push(a);
    else runs.push([a]);
  }
  return runs.map((r) => (/[(=]/.test(r[0] ?? "") ? r : [...r].sort()).join(",")).join(",");
}

describe.each(["interconnect", "central"] as const)("snapshot of a %s lab", (shape) => {
  let state: LabState;
  let server: TestApiServer;
  let live: LabBackend;
  let offline: SnapshotBackend;
  let snap: string;
  let manifest: SnapshotManifest;
  const execs: ExecRequest[] = [];
  const liveReports = new Map<string, TraceReport[]>();

  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
    await waitForMacLearning(state);
    server = await serveLab(state, { recordExecs: execs });
    const scratch = newLabDir();
    snap = join(scratch, "snap");
    const t0 = performance.now();
    const r = await cli([
      "snapshot",
      "collect",
      "--cluster",
      "--kubeconfig",
      server.writeKubeconfig(scratch),
      "--out",
      snap,
      "-o",
      "json",
    ]);
    const collectMs = Math.round(performance.now() - t0);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    manifest = JSON.parse(r.stdout) as SnapshotManifest;
    const t1 = performance.now();
    offline = await SnapshotBackend.open(snap);
    process.stdout.write(
      `snapshot (${shape}): collect ${String(collectMs)} ms (CLI, through the API), replica start ${String(Math.round(performance.now() - t1))} ms\n`,
    );
    live = LabBackend.open(state.dir);
  });
  afterAll(async () => {
    await offline.close();
    await server.close();
    await labDown(state.dir);
  });

  it("collects every node and zone of the scenario, and the Kubernetes objects, with read-only commands", () => {
    expect(manifest.shape).toBe(shape);
    expect(manifest.nodes.map((n) => n.name).sort()).toEqual(state.cluster.nodes.map((n) => n.name).sort());
    expect(manifest.zones.length).toBe(shape === "central" ? 1 : state.cluster.nodes.length);
    for (const n of manifest.nodes) {
      expect(n.status, n.name).toBe("complete");
      expect(n.bridges.map((b) => b.name).sort()).toEqual(["br-int", "breth0"]);
    }
    for (const z of manifest.zones)
      expect(
        [z.nb, z.sb].every((f) => f !== undefined),
        z.name,
      ).toBe(true);
    const objects = JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
      items: unknown[];
    };
    expect(manifest.kubernetes?.objects).toBe(objects.items.length);
    expect(manifest.problems).toEqual([]);
    const readOnly =
      /^(ovs-vsctl (--version|list-br)|ovn-controller --version|ovsdb-client backup |ovs-ofctl .*(dump-flows|dump-groups|dump-meters|dump-tlv-map) |ovs-appctl (dpif\/show|ovs\/route\/show|tnl\/neigh\/show|fdb\/show )|ip -j link|ip -j -[46] (route show table all|rule show)|sh -c exec ovsdb-client backup )/;
    expect(execs.length).toBeGreaterThan(0);
    for (const e of execs) expect(e.command.join(" ")).toMatch(readOnly);
  });

  it.each(CASES.map((c) => [c.name, c] as const))(
    "%s: the offline trace equals the live one",
    async (name, c) => {
      const l = await traceAll(live, c);
      liveReports.set(name, l);
      expectSameReports(l, await traceAll(offline, c), name);
    },
  );

  it("replay: every ofproto/trace of the matrix gives the same datapath actions on the replica (by port name)", async () => {
    let compared = 0;
    for (const reports of liveReports.values()) {
      for (const h of reports.flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])])) {
        if (h.tool !== "ofproto/trace") continue;
        const [a, b] = await Promise.all([
          namedActions(live, h.node, h.command),
          namedActions(offline, h.node, h.command),
        ]);
        expect(b, `${h.node}: ${h.command.join(" ")}`).toBe(a);
        compared++;
      }
    }
    expect(compared).toBeGreaterThan(CASES.length);
  });

  it("without Kubernetes objects (names from the OVN databases alone) pod, service and policy verdicts are the same", async () => {
    const bare = join(newLabDir(), "bare");
    cpSync(snap, bare, { recursive: true });
    rmSync(join(bare, "kubernetes.json"));
    const files = Object.fromEntries(Object.entries(manifest.files).filter(([f]) => f !== "kubernetes.json"));
    writeFileSync(join(bare, "manifest.json"), JSON.stringify({ ...manifest, kubernetes: undefined, files }));
    const derived = await SnapshotBackend.open(bare);
    try {
      // host-network pods have no logical port: nothing in OVN names them
      const cases = CASES.filter((c) => !c.name.includes("host-network"));
      for (const c of cases)
        expectSameReports(liveReports.get(c.name) ?? [], await traceAll(derived, c), c.name);
    } finally {
      await derived.close();
    }
  });

  it("a service trace with detrace: the native annotations read the replica's databases", async () => {
    const c: Case = {
      name: "kube-dns",
      target: {
        src: client,
        dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
        protocol: "udp",
        dstPort: 53,
        family: 4,
      },
    };
    const detraced = async (b: ClusterBackend) =>
      (await runTraces(b, await resolveTarget(b, c.target), { skipDetrace: false, srcPort: SRC_PORT }))[0];
    const [l, o] = [await detraced(live), await detraced(offline)];
    const text = (r: TraceReport | undefined) =>
      (r?.forward.hops ?? []).map((h) =>
        (h.detrace?.output ?? "").replace(/recirc\(0x[0-9a-f]+\)|recirc_id=0x[0-9a-f]+/g, "R"),
      );
    expect(text(o).join("").length).toBeGreaterThan(0);
    expect(text(o).map((t) => t.replace(/dec_ttl\(\)/g, "dec_ttl"))).toEqual(
      text(l).map((t) => t.replace(/dec_ttl\(\)/g, "dec_ttl")),
    );
  });
});

describe("snapshot commands and bad input", () => {
  let state: LabState;
  let snap: string;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`), newLabDir())).state;
    snap = join(newLabDir(), "snap");
    const r = await cli(["snapshot", "collect", "--lab", state.dir, "--out", snap]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/collected in \d+ ms/);
  });
  afterAll(async () => {
    await cli(["snapshot", "stop", snap]);
    await labDown(state.dir);
  });

  it("start, show (sockets and an activate script that works by hand), trace on the running replica, stop", async () => {
    const started = await cli(["snapshot", "start", snap]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(/started in \d+ ms/);
    const s = readReplica(snap);
    expect(s?.nodes.map((n) => n.name).sort()).toEqual(state.cluster.nodes.map((n) => n.name).sort());
    const show = await cli(["snapshot", "show", snap]);
    expect(show.stdout).toContain(`${replicaDir(snap)}/activate`);
    for (const n of state.cluster.nodes)
      expect(show.stdout).toContain(`node ${n.name} (zone ${n.zone}): complete`);
    const node = state.cluster.nodes[1]?.name ?? "";
    const byHand = await run([
      "bash",
      "-c",
      `. "$1" "$2" && ovs-vsctl br-exists br-int && ovs-vsctl get open_vswitch . external_ids:hostname && ovn-sbctl --bare --columns=hostname list chassis`,
      "activate",
      join(replicaDir(snap), "activate"),
      node,
    ]);
    expect(byHand.exitCode, byHand.stderr).toBe(0);
    expect(byHand.stdout.split("\n").map((l) => l.replace(/"/g, ""))).toContain(node);
    // a trace uses the running replica and leaves it running
    const t = await cli([
      "--snapshot",
      snap,
      "-src",
      "client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "8080",
      "-skip-detrace",
    ]);
    expect(t.code, t.stderr).toBe(0);
    expect(t.stdout).toContain("ofproto/trace source pod to destination pod indicates success");
    expect(s?.daemons.every((d) => isAlive(d.pid))).toBe(true);
    const stopped = await cli(["snapshot", "stop", snap]);
    expect(stopped.stdout).toMatch(new RegExp(`stopped ${String(s?.daemons.length ?? -1)} daemons`));
    expect(s?.daemons.some((d) => isAlive(d.pid))).toBe(false);
    expect(existsSync(replicaDir(snap))).toBe(false);
  });

  it("explain reads the snapshot's databases: the same annotations and decoded names as on the live lab", async () => {
    // client -> kube-dns, as the scenario declares them
    const scenario = parse(readFileSync(`${EXAMPLES_DIR}kind.yaml`, "utf8")) as {
      services: { name: string; clusterIPs: string[] }[];
    };
    const client = examplePods(`${EXAMPLES_DIR}kind.yaml`).find((p) => p.name === "client");
    const dns = scenario.services.find((x) => x.name === "kube-dns")?.clusterIPs[0] ?? "";
    const node = client?.node ?? "";
    const live = LabBackend.open(state.dir);
    const iface = await live.execOnNode(node, [
      "ovs-vsctl",
      "--bare",
      "--columns=name",
      "find",
      "interface",
      "external_ids:iface-id=default_client",
    ]);
    const trace = await live.execOnNode(node, [
      "ovs-appctl",
      "ofproto/trace",
      "br-int",
      `in_port=${iface.stdout.trim()},udp,nw_src=${client?.ips[0] ?? ""},nw_dst=${dns},udp_dst=53`,
    ]);
    expect(trace.exitCode, trace.stderr).toBe(0);
    const file = join(newLabDir(), "trace.txt");
    writeFileSync(file, trace.stdout);
    for (const format of ["detrace", "decoded"]) {
      const [l, o] = await Promise.all([
        cli(["explain", file, "--node", node, "--format", format, "--lab", state.dir]),
        cli(["explain", file, "--node", node, "--format", format, "--snapshot", snap]),
      ]);
      expect(o.code, o.stderr).toBe(0);
      expect(o.stdout.length).toBeGreaterThan(trace.stdout.length);
      expect(o.stdout, format).toBe(l.stdout);
    }
  });

  it("a trace on a stopped snapshot starts its replica for the run and stops it afterwards", async () => {
    const t = await cli([
      "--snapshot",
      snap,
      "-src",
      "client",
      "-dst",
      "web",
      "-tcp",
      "-dst-port",
      "80",
      "-skip-detrace",
    ]);
    expect(t.code).toBe(1);
    expect(t.stdout).toMatch(/indicates failure from client to web/);
    expect(existsSync(replicaDir(snap))).toBe(false);
  });

  it("a node that cannot be collected is recorded in the manifest, the others are complete", async () => {
    // a node that neither the client nor the web server is on (from the scenario as written)
    const used = examplePods(`${EXAMPLES_DIR}kind.yaml`)
      .filter((p) => p.name === "client" || p.name === "web")
      .map((p) => p.node);
    const failing = state.cluster.nodes.find((n) => !used.includes(n.name))?.name ?? "";
    const server = await serveLab(state, { failNode: failing });
    try {
      const scratch = newLabDir();
      const out = join(scratch, "partial");
      const r = await cli([
        "snapshot",
        "collect",
        "--cluster",
        "--kubeconfig",
        server.writeKubeconfig(scratch),
        "--out",
        out,
        "-o",
        "json",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const m = JSON.parse(r.stdout) as SnapshotManifest;
      for (const n of m.nodes) expect(n.status, n.name).toBe(n.name === failing ? "failed" : "complete");
      expect(m.nodes.find((n) => n.name === failing)?.error).toMatch(/container not found/);
      expect(m.problems.join("\n")).toContain(`node ${failing}: failed`);
      // its zone's databases could not be read either (interconnect: the node holds them)
      expect(m.zones.find((z) => z.name === failing)?.missing).toEqual(["NB", "SB"]);
      // the rest still traces: pod to pod between the two collected nodes
      const t = await cli([
        "--snapshot",
        out,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
        "-skip-detrace",
      ]);
      expect(t.code, t.stderr).toBe(0);
      expect(t.stdout).toContain("ovs-appctl ofproto/trace source pod to destination pod indicates success");
    } finally {
      await server.close();
    }
  });

  it("not a snapshot, a damaged database, a node without OVS data: named, and the rest still serves", async () => {
    const scratch = newLabDir();
    const noSource = await cli(["snapshot", "collect", "--out", join(scratch, "a")]);
    expect(noSource.code).toBe(2);
    expect(noSource.stderr).toMatch(/give exactly one source/);
    const noArchive = await cli([
      "snapshot",
      "collect",
      "--sos",
      join(scratch, "nope.tar.xz"),
      "--out",
      join(scratch, "b"),
    ]);
    expect(noArchive.code).toBe(2);
    expect(noArchive.stderr).toMatch(/nope\.tar\.xz/);
    expect(noArchive.stderr).not.toMatch(/\n\s+at /);
    expect(existsSync(join(scratch, "b"))).toBe(false);
    const notEmpty = await cli(["snapshot", "collect", "--lab", state.dir, "--out", snap]);
    expect(notEmpty.code).toBe(2);
    expect(notEmpty.stderr).toMatch(/is not empty/);
    const missing = await cli(["--snapshot", "/nonexistent/snap", "-src", "client", "-dst", "web", "-tcp"]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^error: \/nonexistent\/snap is not a snapshot/);
    expect(missing.stderr).not.toMatch(/\n\s+at /);

    const broken = join(newLabDir(), "broken");
    cpSync(snap, broken, { recursive: true });
    const m = JSON.parse(readFileSync(join(broken, "manifest.json"), "utf8")) as SnapshotManifest;
    const [a, b] = m.nodes;
    // a truncated SB of one zone, and one node whose conf.db is gone
    const sb = m.zones.find((z) => z.name === a?.zone)?.sb ?? "";
    truncateSync(join(broken, sb), 100);
    rmSync(join(broken, b?.confDb ?? ""));
    const show = await cli(["snapshot", "show", broken]);
    expect(show.stdout).toContain(`damaged: ${sb}`);
    expect(show.stdout).toContain(`damaged: ${b?.confDb ?? ""}`);
    const started = await cli(["snapshot", "start", broken]);
    expect(started.code, started.stderr).toBe(0);
    expect(started.stdout).toMatch(
      new RegExp(`zone ${a?.zone ?? ""}: NB unix:\\S+\\s+SB -\\n\\s+problem: no usable SB database`),
    );
    expect(started.stdout).toMatch(
      new RegExp(`node ${b?.name ?? ""}: no OVS\\n\\s+problem: no usable conf.db`),
    );
    // the intact node still answers ofproto/trace
    const c = m.nodes[2]?.name ?? "";
    const r = readReplica(broken);
    expect(r?.nodes.find((n) => n.name === c)?.ovs).toBe(true);
    await cli(["snapshot", "stop", broken]);
    writeFileSync(join(broken, "manifest.json"), "{");
    const bad = await cli(["snapshot", "show", broken]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/manifest.json is not valid JSON/);
  });
});
