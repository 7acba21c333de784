import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { parseScenario } from "../../src/lab/load-scenario.js";
import { probe } from "../../src/lab/probe.js";
import {
  crossNodePair,
  SCALE_PER_NODE,
  scaleScenario,
  type ScaleOptions,
} from "../../src/lab/scale-scenario.js";
import type { LabelSelector, PodSpec, Scenario } from "../../src/lab/scenario.js";
import { contains, parseCidr, parseIp } from "../../src/net/ip.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf } from "../helpers/fidelity.js";
import { newLabDir } from "../helpers/lab.js";

const matches = (
  sel: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>>,
) => Object.entries(sel ?? {}).every(([k, v]) => labels[k] === v);

/** The labels a namespaceSelector sees: the namespace's own and kubernetes.io/metadata.name. */
const nsLabels = (s: Scenario, ns: string): Record<string, string> => ({
  ...(s.namespaces?.find((n) => n.name === ns)?.labels ?? {}),
  "kubernetes.io/metadata.name": ns,
});

/** Every problem of a generated scenario that the lab's own checks (resolveScenario) would not all catch. */
function problems(s: Scenario): string[] {
  const out: string[] = [];
  const pods = s.pods ?? [];
  const nodes = new Map(s.nodes.map((n) => [n.name, n]));
  const ips = new Set<string>();
  const names = new Set<string>();
  for (const p of pods) {
    const key = `${p.namespace}/${p.name}`;
    if (names.has(key)) out.push(`duplicate pod ${key}`);
    names.add(key);
    const node = nodes.get(p.node);
    if (node === undefined) out.push(`${key}: unknown node ${p.node}`);
    for (const ip of p.ips ?? []) {
      if (ips.has(ip)) out.push(`duplicate IP ${ip}`);
      ips.add(ip);
      const addr = parseIp(ip);
      const subnet = parseCidr((addr?.family === 6 ? node?.subnets?.ipv6 : node?.subnets?.ipv4) ?? "");
      if (addr === undefined || subnet === undefined || !contains(subnet, addr))
        out.push(`${key}: ${ip} outside node ${p.node}'s subnet`);
      else if (addr.value - subnet.base <= 2n) out.push(`${key}: ${ip} is reserved`);
    }
  }
  const inNs = (ns: string): PodSpec[] => pods.filter((p) => p.namespace === ns);
  const svcNames = new Set<string>();
  for (const svc of s.services ?? []) {
    const key = `${svc.namespace}/${svc.name}`;
    if (svcNames.has(key)) out.push(`duplicate service ${key}`);
    svcNames.add(key);
    for (const ip of svc.clusterIPs) {
      if (ips.has(ip)) out.push(`duplicate IP ${ip} (service ${key})`);
      ips.add(ip);
    }
    if (!inNs(svc.namespace).some((p) => matches(svc.selector, p.labels ?? {})))
      out.push(`service ${key} selects no pod`);
  }
  const selects = (ns: string, sel: LabelSelector | undefined): boolean =>
    inNs(ns).some((p) => matches(sel?.matchLabels, p.labels ?? {}));
  const npNames = new Set<string>();
  for (const np of s.networkPolicies ?? []) {
    const key = `${np.namespace}/${np.name}`;
    if (npNames.has(key)) out.push(`duplicate network policy ${key}`);
    npNames.add(key);
    if (!selects(np.namespace, np.podSelector)) out.push(`policy ${key} selects no pod`);
    const peers = [
      ...(np.ingress ?? []).flatMap((r) => r.from ?? []),
      ...(np.egress ?? []).flatMap((r) => r.to ?? []),
    ];
    for (const peer of peers) {
      if (peer.ipBlock !== undefined) continue;
      const namespaces =
        peer.namespaceSelector === undefined
          ? [np.namespace]
          : (s.namespaces ?? [])
              .map((n) => n.name)
              .filter((n) => matches(peer.namespaceSelector?.matchLabels, nsLabels(s, n)));
      if (namespaces.length === 0) out.push(`policy ${key}: a namespaceSelector selects no namespace`);
      else if (!namespaces.some((n) => selects(n, peer.podSelector)))
        out.push(`policy ${key}: a peer selects no pod`);
    }
  }
  return out;
}

describe("scaleScenario", () => {
  const sizes: ScaleOptions[] = [
    { nodes: 1 },
    { nodes: 3, pods: 10, services: 3, policies: 2 },
    { nodes: 10, pods: 200, services: 50, policies: 30, shape: "interconnect" },
    { nodes: 25, pods: 1000, services: 300, policies: 150, ipFamilies: [4, 6] },
    { nodes: 50, pods: 2000, services: 500, policies: 300 },
    { nodes: 3, pods: 40, services: 200, policies: 10 },
  ];

  it.each(sizes.map((o) => [JSON.stringify(o), o] as const))(
    "%s: schema-valid, resolvable, every object consistent",
    (_name, o) => {
      const s = scaleScenario(o);
      expect(parseScenario(JSON.stringify(s), "generated")).toEqual(s);
      const c = resolveScenario(s);
      expect(c.nodes).toHaveLength(o.nodes);
      expect(c.pods).toHaveLength(o.pods ?? o.nodes * SCALE_PER_NODE.pods);
      expect(c.services).toHaveLength(o.services ?? o.nodes * SCALE_PER_NODE.services);
      expect(c.networkPolicies).toHaveLength(o.policies ?? o.nodes * SCALE_PER_NODE.policies);
      expect(c.shape).toBe(o.shape ?? "central");
      expect(problems(s)).toEqual([]);
      for (const svc of c.services)
        expect(svc.endpoints.length, `${svc.namespace}/${svc.name}`).toBeGreaterThan(0);
    },
  );

  it("looks like a real cluster: kind node names, several namespaces, Deployment pod names, all policy kinds", () => {
    const s = scaleScenario({ nodes: 25, pods: 1000, services: 300, policies: 150 });
    expect(s.nodes.slice(0, 3).map((n) => n.name)).toEqual([
      "ovn-control-plane",
      "ovn-worker",
      "ovn-worker2",
    ]);
    expect(new Set(s.pods?.map((p) => p.namespace)).size).toBeGreaterThan(10);
    for (const p of s.pods ?? [])
      expect(p.name).toMatch(
        /^[a-z0-9-]+-[bcdfghjklmnpqrstvwxz2456789]{9,10}-[bcdfghjklmnpqrstvwxz2456789]{5}$/,
      );
    const peers = (s.networkPolicies ?? []).flatMap((np) => [
      ...(np.ingress ?? []).flatMap((r) => r.from ?? []),
      ...(np.egress ?? []).flatMap((r) => r.to ?? []),
    ]);
    expect(peers.some((p) => p.podSelector !== undefined && p.namespaceSelector === undefined)).toBe(true);
    expect(peers.some((p) => p.namespaceSelector !== undefined)).toBe(true);
    expect(peers.some((p) => p.ipBlock?.except !== undefined)).toBe(true);
    expect(s.networkPolicies?.some((np) => np.policyTypes?.includes("Egress"))).toBe(true);
    expect(
      s.networkPolicies?.some((np) => np.ingress?.some((r) => r.ports?.some((x) => x.endPort !== undefined))),
    ).toBe(true);
    expect(s.services?.some((x) => x.type === "NodePort")).toBe(true);
    expect(s.services?.some((x) => x.ports.some((p) => p.protocol === "UDP"))).toBe(true);
  });

  it("is deterministic: the same options give the same scenario; another seed another one", () => {
    const o: ScaleOptions = { nodes: 20, pods: 500, services: 120, policies: 60 };
    expect(JSON.stringify(scaleScenario(o))).toBe(JSON.stringify(scaleScenario({ ...o })));
    expect(JSON.stringify(scaleScenario({ ...o, seed: 2 }))).not.toBe(JSON.stringify(scaleScenario(o)));
  });

  it("refuses sizes that do not fit: pods beyond the node subnets, no nodes", () => {
    expect(() => scaleScenario({ nodes: 0 })).toThrow(/number of nodes/);
    expect(() => scaleScenario({ nodes: 2, pods: 600 })).toThrow(/number of pods/);
    expect(() => scaleScenario({ nodes: 2, ipFamilies: [] })).toThrow(/ipFamilies/);
  });

  it("names a cross-node pair no policy stands between, and one a policy guards", () => {
    const s = scaleScenario({ nodes: 10, pods: 200, services: 50, policies: 30 });
    const open = crossNodePair(s);
    const guarded = crossNodePair(s, true);
    expect(open).toBeDefined();
    expect(guarded).toBeDefined();
    expect(open?.src.node).not.toBe(open?.dst.node);
    expect(guarded?.src.node).not.toBe(guarded?.dst.node);
  });
});

/** A generated lab, traced with the real tracer and checked against a real packet (test/helpers/fidelity.ts). */
describe("a generated lab (10 nodes, 200 pods): trace verdicts agree with real packets", () => {
  const scenario = scaleScenario({ nodes: 10, pods: 200, services: 50, policies: 30 });
  let state: LabState;
  let backend: LabBackend;
  beforeAll(async () => {
    state = (await labUp(resolveScenario(scenario), newLabDir())).state;
    backend = LabBackend.open(state.dir);
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  const pairs = [
    ["no policy in the way", crossNodePair(scenario)],
    ["a policy selects the destination", crossNodePair(scenario, true)],
  ] as const;

  it.each(pairs)("%s", async (_title, pair) => {
    if (pair === undefined) throw new Error("no pair");
    const target: TraceTarget = {
      src: { namespace: pair.src.namespace, name: pair.src.name },
      dst: { kind: "pod", namespace: pair.dst.namespace, name: pair.dst.name },
      protocol: "tcp",
      dstPort: pair.port,
    };
    const real = await probe(state, probeOf(target));
    const reports = await runTraces(backend, await resolveTarget(backend, target), {
      skipDetrace: true,
      srcPort: real.injected.srcPort,
    });
    const report = reports[0];
    if (report === undefined) throw new Error("no report");
    expect(agree(report.forward.verdict, real)).toBeUndefined();
  });
});
