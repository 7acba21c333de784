import { seededRandom } from "../../src/seeded-random.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { computeMatrix, cellName } from "../../src/engine/matrix.js";
import { parsePorts } from "../../src/engine/matrix-select.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { MatrixCell, MatrixOutcome, ReachabilityMatrix } from "../../src/model/matrix.js";
import type { LabCluster, LabPod } from "../../src/lab/cluster.js";
import { newLabDir } from "../helpers/lab.js";
import { oracle } from "../helpers/netpol-oracle.js";

/**
 * The reachability matrix on the lab (examples/matrix.yaml: 3 namespaces, 24 pods, 10 NetworkPolicies, 3
 * Services), both shapes: every cell against Kubernetes' NetworkPolicy semantics computed from the scenario
 * (helpers/netpol-oracle.ts: allowed or not, and for a drop whose isolation and which policies), and a seeded
 * random sample of cells against real packets injected with the lab's probe (the ground truth): delivered ⇔
 * allowed (to the backend the load balancer picked, for a Service), not delivered ⇔ dropped, rejected ⇔ rejected.
 */

const SCENARIO = `${EXAMPLES_DIR}matrix.yaml`;
const NAMESPACES = ["shop", "api", "data"];
const PORTS = parsePorts(["tcp/8080,tcp/5432,udp/53", "tcp/80", "icmp"]);
const SAMPLE = 60;

const tally = { real: 0, realAgree: 0, oracle: 0, oracleAgree: 0 };

/**
 * A sample of cells (not the pod to itself): at random, until there are SAMPLE of them and at least 4 of each of
 * allowed, dropped, rejected and a Service's cells.
 */
function sample(m: ReachabilityMatrix, seed: number): MatrixCell[] {
  const next = seededRandom(seed);
  const pool = m.cells.filter((c) => c.verdict !== "self");
  const picked = new Set<MatrixCell>();
  const count = (f: (c: MatrixCell) => boolean): number => [...picked].filter(f).length;
  const isService = (c: MatrixCell): boolean => m.destinations[c.to]?.kind === "service";
  const wanted = (c: MatrixCell): boolean =>
    picked.size < SAMPLE ||
    (c.verdict === "rejected" && count((x) => x.verdict === "rejected") < 4) ||
    (isService(c) && count(isService) < 4);
  for (let i = 0; i < 100_000 && pool.length > 0; i++) {
    const c = pool[Math.floor(next() * pool.length)];
    if (c !== undefined && !picked.has(c) && wanted(c)) picked.add(c);
    const done =
      picked.size >= SAMPLE &&
      count((x) => x.verdict === "rejected") >= 4 &&
      count(isService) >= 4 &&
      count((x) => x.verdict === "allowed") >= 4 &&
      count((x) => x.verdict === "dropped") >= 4;
    if (done) break;
  }
  return [...picked];
}

const policiesOf = (o: MatrixOutcome): string[] =>
  o.objects
    .filter((x) => x.kind === "NetworkPolicy")
    .map((x) => `${x.namespace ?? ""}/${x.name}`)
    .sort();

function podOf(c: LabCluster, namespace: string, name: string): LabPod {
  const p = c.pods.find((x) => x.namespace === namespace && x.name === name);
  if (p === undefined) throw new Error(`no pod ${namespace}/${name} in the scenario`);
  return p;
}

/** What the oracle says of one packet from `src` to pod `dst` on the port it receives on, against the outcome. */
function checkOracle(
  c: LabCluster,
  src: LabPod,
  dst: LabPod,
  protocol: string,
  port: number,
  o: MatrixOutcome,
  what: string,
): void {
  const want = oracle(c, src, dst, protocol, port);
  tally.oracle++;
  expect(o.verdict, `${what}: ${o.explanation}`).toBe(want.allowed ? "allowed" : "dropped");
  if (!want.allowed) {
    expect(o.direction, `${what}: whose isolation`).toBe(want.direction);
    expect(policiesOf(o), `${what}: the policies that isolate`).toEqual(want.policies);
  }
  tally.oracleAgree++;
}

describe.each(["interconnect", "central"] as const)("reachability matrix on the lab (%s)", (shape) => {
  let state: LabState;
  let backend: LabBackend;
  let m: ReachabilityMatrix;
  let cluster: LabCluster;
  beforeAll(async () => {
    cluster = loadScenarioFile(SCENARIO, shape);
    state = (await labUp(cluster, newLabDir())).state;
    backend = new LabBackend(state, "always");
    m = await computeMatrix(backend, {
      from: { namespaces: NAMESPACES, selector: "" },
      to: { namespaces: NAMESPACES, selector: "", services: true },
      ports: PORTS,
    });
  }, 600_000);
  afterAll(async () => {
    await backend.close();
    await labDown(state.dir);
  });

  it("covers 3 namespaces × 24 pods × 5 ports and the Services, with a verdict in every cell", () => {
    expect(m.sources).toHaveLength(24);
    expect(new Set(m.sources.map((s) => s.namespace))).toEqual(new Set(NAMESPACES));
    expect(m.destinations.filter((d) => d.kind === "service").map((d) => d.name)).toEqual([
      "legacy",
      "orders",
      "postgres",
    ]);
    expect(m.cells).toHaveLength(24 * 24 * 5 + 24 * 3);
    expect(
      m.counts.unknown,
      m.cells
        .filter((c) => c.verdict === "unknown")
        .map((c) => `${cellName(m, c)}: ${c.explanation}`)
        .join("\n"),
    ).toBe(0);
    expect(m.counts.self).toBe(24 * 5);
    for (const k of ["allowed", "dropped", "rejected"] as const) expect(m.counts[k]).toBeGreaterThan(0);
  });

  it("every cell says what the NetworkPolicies say (allowed or not; whose isolation, which policies)", () => {
    for (const c of m.cells) {
      const s = m.sources[c.from];
      const d = m.destinations[c.to];
      const p = m.ports[c.port];
      if (s === undefined || d === undefined || p === undefined || c.verdict === "self") continue;
      const src = podOf(cluster, s.namespace, s.name);
      const what = cellName(m, c);
      if (d.kind === "pod") {
        checkOracle(cluster, src, podOf(cluster, d.namespace, d.name), p.protocol, p.port, c, what);
        continue;
      }
      const svc = cluster.services.find((x) => x.namespace === d.namespace && x.name === d.name);
      const sp = svc?.ports.find((x) => x.port === p.port && x.protocol.toLowerCase() === p.protocol);
      if (svc === undefined || sp === undefined) throw new Error(`${what}: no such Service port`);
      if (svc.endpoints.length === 0) {
        expect(c.verdict, what).toBe("rejected");
        expect(c.objects).toContainEqual({ kind: "Service", namespace: d.namespace, name: d.name });
        continue;
      }
      expect(c.backends?.map((b) => b.pod.name)).toEqual(svc.endpoints.map((e) => e.name));
      for (const b of c.backends ?? []) {
        // to itself through its own Service: the source the receiver sees is the hairpin SNAT address
        if (b.pod.name === s.name && b.pod.namespace === s.namespace) continue;
        checkOracle(
          cluster,
          src,
          podOf(cluster, b.pod.namespace, b.pod.name),
          p.protocol,
          sp.targetPort,
          b,
          `${what} via ${b.pod.name}`,
        );
      }
    }
  });

  it(`a random sample of ${String(SAMPLE)}+ cells agrees with real packets`, async () => {
    const cells = sample(m, shape === "interconnect" ? 19 : 23);
    expect(cells.length).toBeGreaterThanOrEqual(50);
    for (const c of cells) {
      const s = m.sources[c.from];
      const d = m.destinations[c.to];
      const p = m.ports[c.port];
      if (s === undefined || d === undefined || p === undefined) throw new Error("cell out of range");
      const real: ProbeResult = await probe(state, {
        src: { namespace: s.namespace, name: s.name },
        dst: { kind: d.kind, namespace: d.namespace, name: d.name },
        protocol: p.protocol,
        ...(p.protocol === "icmp" ? {} : { dstPort: p.port }),
        family: 4,
      });
      const g = real.verdict;
      const what = `${cellName(m, c)}: matrix ${c.verdict} (${c.explanation}); real ${g.kind}`;
      tally.real++;
      if (c.backends === undefined) {
        const expected = { allowed: "delivered", dropped: "not-delivered", rejected: "rejected" } as const;
        expect(c.verdict === "allowed" || c.verdict === "dropped" || c.verdict === "rejected", what).toBe(
          true,
        );
        expect(g.kind, what).toBe(expected[c.verdict as keyof typeof expected]);
        if (g.kind === "delivered") expect(`${g.namespace}/${g.pod}`, what).toBe(`${d.namespace}/${d.name}`);
      } else if (g.kind === "delivered") {
        // the backend the load balancer picked for this packet: the matrix must say it is allowed
        const b = c.backends.find((x) => x.pod.namespace === g.namespace && x.pod.name === g.pod);
        expect(b?.verdict, what).toBe("allowed");
      } else {
        expect(g.kind, what).toBe("not-delivered");
        expect(
          c.backends.some((x) => x.verdict === "dropped"),
          what,
        ).toBe(true);
      }
      tally.realAgree++;
    }
  }, 600_000);
});

afterAll(() => {
  process.stdout.write(
    `matrix: ${String(tally.realAgree)} of ${String(tally.real)} sampled cells agree with real packets; ${String(tally.oracleAgree)} of ${String(tally.oracle)} cells agree with the NetworkPolicy semantics\n`,
  );
});
