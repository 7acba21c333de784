import { createHash } from "node:crypto";
import { cpSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { parse, stringify } from "yaml";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CommandIO } from "../../src/app/command.js";
import { whatIf, whatIfMatrix, type WhatIfCommand, type WhatIfResult } from "../../src/app/what-if.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { WHAT_IF_ROOT } from "../../src/backends/snapshot/what-if-replica.js";
import { parsePorts } from "../../src/engine/matrix-select.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, readLabState, setLabNetworkPolicies, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe } from "../../src/lab/probe.js";
import { policyManifest } from "../../src/lab/what-if.js";
import type { ReachabilityMatrix } from "../../src/model/matrix.js";
import { seededRandom } from "../../src/seeded-random.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { readReplica, replicaRunning, startReplica, stopReplica } from "../../src/snapshot/replica.js";
import { EXIT } from "../../src/cli/exit-codes.js";
import { cliAsync } from "../helpers/cli.js";
import { newLabDir, processesLeftUnder } from "../helpers/lab.js";
import { podRef as ref, realVerdict as real } from "../helpers/fidelity.js";

/**
 * `what-if --snapshot` on a snapshot of a lab of examples/matrix.yaml, in both shapes: for a seeded sample of the
 * lab's dropped cells, the proposals and the cells they flip on the snapshot's what-if replica are those the lab's
 * own what-if finds (where the change is then proven with real packets: dropped before, delivered after, dropped
 * again once restored); the same for a policy given as a file, also on a copy of the snapshot without
 * kubernetes.json (objects derived from the OVN databases); the snapshot's files, and a replica the user started,
 * are left as they were, and no daemon of a what-if replica is left running.
 */

const SCENARIO = `${EXAMPLES_DIR}matrix.yaml`;
const ALL = ["shop", "api", "data"];
const PORTS = ["tcp/8080", "tcp/5432", "udp/53"];
const SAMPLE = 3;
/** Services of matrix.yaml, each from a pod their backends' ingress drops: one with a target port of its own. */
const SERVICE_CASES = [
  { src: "shop/debug", svc: "data/postgres", port: "tcp/5432" },
  { src: "data/etl-5c1b", svc: "api/orders", port: "tcp/80" },
] as const;
const io: CommandIO = { progress: () => undefined, note: () => undefined, color: false };

/** SHA-256 of every file under `dir`, by relative path. */
function hashes(dir: string, prefix = ""): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(join(dir, prefix), { withFileTypes: true })) {
    const rel = join(prefix, e.name);
    if (e.isDirectory()) Object.assign(out, hashes(dir, rel));
    else
      out[rel] = createHash("sha256")
        .update(readFileSync(join(dir, rel)))
        .digest("hex");
  }
  return out;
}

/** The proposals with their manifests as objects (the order of a manifest's keys follows its source's). */
const manifests = (r: WhatIfResult): unknown[] =>
  r.proposals.map((p) => ({ ...p, manifest: parse(p.manifest) as unknown }));

const flips = (r: WhatIfResult): string[] =>
  r.flipped.map((f) => `${f.cell}: ${f.before} → ${f.after}`).sort();

const base = { namespaces: [], keep: false, output: "json" } as const satisfies Partial<WhatIfCommand>;

/** `SAMPLE` dropped cells of the matrix, drawn with a seeded PRNG (the same on every run). */
function sampleDropped(m: ReachabilityMatrix, seed: number): { src: string; dst: string; port: string }[] {
  const dropped = m.cells.filter((c) => c.verdict === "dropped" && c.direction !== undefined);
  const rand = seededRandom(seed);
  const picked = new Set<number>();
  while (picked.size < Math.min(SAMPLE, dropped.length)) picked.add(Math.floor(rand() * dropped.length));
  return [...picked].map((i) => {
    const c = dropped[i];
    const s = c === undefined ? undefined : m.sources[c.from];
    const d = c === undefined ? undefined : m.destinations[c.to];
    const p = c === undefined ? undefined : m.ports[c.port];
    if (s === undefined || d === undefined || p === undefined) throw new Error("a cell without its ends");
    return {
      src: `${s.namespace}/${s.name}`,
      dst: `${d.namespace}/${d.name}`,
      port: p.protocol === "icmp" ? "icmp" : `${p.protocol}/${String(p.port)}`,
    };
  });
}

describe.each(["central", "interconnect"] as const)("what-if --snapshot of a %s lab", (shape) => {
  let state: LabState;
  let snap: string;
  let original: ReachabilityMatrix;
  let before: Record<string, string>;
  let userReplica: number[];
  let replicasBefore: Set<string>;

  beforeAll(async () => {
    const cluster = loadScenarioFile(SCENARIO, shape);
    state = (await labUp(cluster, newLabDir())).state;
    snap = join(newLabDir(), "snap");
    const b = LabBackend.open(state.dir);
    try {
      await collectFromBackend(b, { out: snap, source: { kind: "lab", description: state.dir } });
    } finally {
      await b.close();
    }
    original = await whatIfMatrix(new LabBackend(state, "always"), ALL, parsePorts(PORTS), false);
    mkdirSync(WHAT_IF_ROOT, { recursive: true });
    replicasBefore = new Set(readdirSync(WHAT_IF_ROOT));
    before = hashes(snap);
    // a replica the user started (snapshot start): what-if must leave it alone
    userReplica = (await startReplica(snap)).daemons.map((d) => d.pid);
  }, 300_000);
  afterAll(async () => {
    await stopReplica(snap);
    await labDown(state.dir);
  });

  it("--allow: for a sample of dropped cells, the lab's proposals and flips; real packets pass on the lab", async () => {
    const sample = sampleDropped(original, shape === "central" ? 19 : 23);
    expect(sample).toHaveLength(SAMPLE);
    for (const [i, { src, dst, port }] of sample.entries()) {
      const allow = { src, dst };
      expect(await real(state, src, dst, port, 43_000 + i)).toBe("not-delivered");
      const onSnapshot = await whatIf({ ...base, snapshot: snap, allow, ports: [port] }, io);
      expect(onSnapshot.source).toBe("snapshot");
      expect(onSnapshot.kept).toBe(false);
      expect(onSnapshot.notes?.join()).toMatch(/OpenFlow is not recomputed/);
      const onLab = await whatIf({ ...base, lab: state.dir, allow, ports: [port], keep: true }, io);
      expect(onLab.cell?.after).toBe("allowed");
      expect(onSnapshot.cell).toEqual(onLab.cell);
      expect(manifests(onSnapshot)).toEqual(manifests(onLab));
      expect(flips(onSnapshot)).toEqual(flips(onLab));
      // ground truth on the lab, where the change is applied: a real packet passes, and again not once restored
      const now = readLabState(state.dir);
      if (now === undefined) throw new Error("no lab state");
      expect(await real(now, src, dst, port, 44_000 + i)).toBe("delivered");
      state = await setLabNetworkPolicies(now, loadScenarioFile(SCENARIO, shape).networkPolicies);
      expect(await real(state, src, dst, port, 45_000 + i)).toBe("not-delivered");
    }
  }, 900_000);

  it("--allow to a Service: a rule for its backends on the target port, as on the lab; real packets to it pass", async () => {
    for (const [i, { src, svc, port }] of SERVICE_CASES.entries()) {
      const [namespace = "", name = ""] = svc.split("/");
      const toService = async (s: LabState, srcPort: number): Promise<string> =>
        (
          await probe(s, {
            src: ref(src),
            dst: { kind: "service", namespace, name },
            protocol: "tcp",
            dstPort: Number(port.split("/")[1]),
            srcPort,
            family: 4,
          })
        ).verdict.kind;
      expect(await toService(state, 46_000 + i)).toBe("not-delivered");
      const allow = { src, dst: `svc:${svc}` };
      const onSnapshot = await whatIf({ ...base, snapshot: snap, allow, ports: [port] }, io);
      const onLab = await whatIf({ ...base, lab: state.dir, allow, ports: [port], keep: true }, io);
      expect(onLab.cell).toEqual({
        name: `${src} → service ${svc} ${port}`,
        before: "dropped",
        after: "allowed",
      });
      expect(onSnapshot.cell).toEqual(onLab.cell);
      expect(manifests(onSnapshot)).toEqual(manifests(onLab));
      expect(flips(onSnapshot)).toEqual(flips(onLab));
      const now = readLabState(state.dir);
      if (now === undefined) throw new Error("no lab state");
      expect(await toService(now, 47_000 + i)).toBe("delivered");
      state = await setLabNetworkPolicies(now, loadScenarioFile(SCENARIO, shape).networkPolicies);
      expect(await toService(state, 48_000 + i)).toBe("not-delivered");
    }
  }, 900_000);

  it("--policy: a new policy and a changed one flip on the replica what they flip on the lab", async () => {
    // a new policy: every ingress to the namespace of a cell its receiver drops allowed (it names no pod label)
    const dropped = original.cells.find((c) => c.verdict === "dropped" && c.direction === "ingress");
    const ns = dropped === undefined ? undefined : original.destinations[dropped.to]?.namespace;
    const port = dropped === undefined ? undefined : PORTS[dropped.port];
    if (ns === undefined || port === undefined)
      throw new Error("the lab has no cell dropped by an ingress policy");
    const allowAll = join(newLabDir(), "allow-all.yaml");
    writeFileSync(
      allowAll,
      stringify({
        apiVersion: "networking.k8s.io/v1",
        kind: "NetworkPolicy",
        metadata: { name: "what-if-allow-all-ingress", namespace: ns },
        spec: { podSelector: {}, policyTypes: ["Ingress"], ingress: [{}] },
      }),
    );
    // a changed one: the lab's proposal for a dropped cell, given as a file
    const [cell] = sampleDropped(original, 7);
    if (cell === undefined) throw new Error("no dropped cell");
    const proposed = await whatIf(
      { ...base, snapshot: snap, allow: { src: cell.src, dst: cell.dst }, ports: [cell.port] },
      io,
    );
    const changed = join(newLabDir(), "changed.yaml");
    writeFileSync(changed, proposed.proposals[0]?.manifest ?? "");
    for (const [file, ports] of [
      [allowAll, [port]],
      [changed, [cell.port]],
    ] as const) {
      const onSnapshot = await whatIf({ ...base, snapshot: snap, policyFile: file, ports }, io);
      const onLab = await whatIf({ ...base, lab: state.dir, policyFile: file, ports }, io);
      expect(onSnapshot.namespaces).toEqual(onLab.namespaces);
      expect(onSnapshot.applied.map((m) => parse(m) as unknown)).toEqual(
        onLab.applied.map((m) => parse(m) as unknown),
      );
      expect(flips(onSnapshot).length, file).toBeGreaterThan(0);
      expect(flips(onSnapshot)).toEqual(flips(onLab));
    }
    // a changed one that selects no pod any more: pods only it isolated are isolated no more (the default deny
    // of its namespace loses them), on the first policy where that flips a cell of its namespace on the lab
    let released = 0;
    for (const np of loadScenarioFile(SCENARIO, shape).networkPolicies) {
      const file = join(newLabDir(), `${np.name}-none.yaml`);
      writeFileSync(file, policyManifest({ ...np, podSelector: { matchLabels: { "what-if": "none" } } }));
      const request = { ...base, namespaces: [np.namespace], policyFile: file, ports: PORTS };
      const onLab = await whatIf({ ...request, lab: state.dir }, io);
      if (onLab.flipped.length === 0) continue;
      const onSnapshot = await whatIf({ ...request, snapshot: snap }, io);
      expect(flips(onSnapshot)).toEqual(flips(onLab));
      released = onLab.flipped.length;
      break;
    }
    expect(released).toBeGreaterThan(0);
    // without kubernetes.json (objects derived from the OVN databases): a policy that names no pod label works,
    // a proposal (which needs labels) is refused, saying why
    const derived = join(newLabDir(), "derived");
    cpSync(snap, derived, { recursive: true });
    rmSync(join(derived, "kubernetes.json"));
    const onDerived = await whatIf({ ...base, snapshot: derived, policyFile: allowAll, ports: [port] }, io);
    const onLab = await whatIf({ ...base, lab: state.dir, policyFile: allowAll, ports: [port] }, io);
    expect(flips(onDerived)).toEqual(flips(onLab));
    await expect(
      whatIf({ ...base, snapshot: derived, allow: { src: cell.src, dst: cell.dst }, ports: [cell.port] }, io),
    ).rejects.toThrow(/kubernetes\.json/);
    await expect(
      whatIf({ ...base, snapshot: derived, policyFile: changed, ports: [port] }, io),
    ).rejects.toThrow(/no pod labels/);
  }, 900_000);

  it("leaves the snapshot and the user's replica as they were, and no what-if daemon running", async () => {
    await expect(
      whatIf(
        { ...base, snapshot: snap, keep: true, allow: { src: "a/b", dst: "c/d" }, ports: ["tcp/80"] },
        io,
      ),
    ).rejects.toThrow(/--keep is for the lab/);
    expect(hashes(snap)).toEqual(before);
    const r = readReplica(snap);
    expect(r !== undefined && replicaRunning(r)).toBe(true);
    expect(r?.daemons.map((d) => d.pid)).toEqual(userReplica);
    expect(await processesLeftUnder(WHAT_IF_ROOT)).toEqual([]);
    expect(readdirSync(WHAT_IF_ROOT).filter((d) => !replicasBefore.has(d))).toEqual([]);
  });
});

describe("what-if never reaches a live cluster", () => {
  it("without --lab or --snapshot it is a usage error that says how a live cluster gets a what-if", async () => {
    const r = await cliAsync(["what-if", "--allow", "a/b", "c/d", "--port", "tcp/80"]);
    expect(r.code).toBe(EXIT.usage);
    expect(r.stderr).toMatch(
      /^error: what-if runs on the lab or on a snapshot: give --lab \[DIR\] or --snapshot DIR\n/,
    );
    expect(r.stderr).toMatch(/snapshot collect --cluster --out DIR\), then what-if --snapshot DIR/);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    // it has no flag that names a cluster
    const k = await cliAsync([
      "what-if",
      "--kubeconfig",
      "/dev/null",
      "--allow",
      "a/b",
      "c/d",
      "--port",
      "tcp/80",
    ]);
    expect(k.code).toBe(EXIT.usage);
    expect(k.stderr).toMatch(/unknown option '--kubeconfig'/);
    const keep = await cliAsync([
      "what-if",
      "--snapshot",
      "/nonexistent",
      "--keep",
      "--allow",
      "a/b",
      "c/d",
      "--port",
      "tcp/80",
    ]);
    expect(keep.code).toBe(EXIT.usage);
    expect(keep.stderr).toMatch(/--keep is for the lab/);
    const svc = await cliAsync([
      "what-if",
      "--lab",
      "/nonexistent",
      "--allow",
      "a/b",
      "svc:x",
      "--port",
      "tcp/80",
    ]);
    expect(svc.code).toBe(EXIT.usage);
    expect(svc.stderr).toMatch(/"svc:x" is not svc:NAMESPACE\/SERVICE/);
  });
});
