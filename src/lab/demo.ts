import { traceLogical, type LogicalHop } from "../engine/logical-trace.js";
import { findNode, runOnNode, type LabState } from "./lab.js";
import { findPod, probe, type ProbeProtocol, type ProbeResult } from "./probe.js";

export interface DemoCase {
  readonly title: string;
  readonly src: { readonly namespace: string; readonly name: string };
  readonly dst: { readonly namespace: string; readonly name: string };
  readonly protocol: ProbeProtocol;
  readonly dstPort: number;
}

export interface DemoOutcome {
  readonly case: DemoCase;
  readonly hops: readonly LogicalHop[];
  readonly probe: ProbeResult;
  /** The traced verdict and the real packet agree on delivered-to-which-pod vs not delivered. */
  readonly agree: boolean;
}

/** Traces one pod-to-pod case with ovn-trace and checks it against a real packet. */
export async function runDemoCase(s: LabState, k: DemoCase): Promise<DemoOutcome> {
  const src = findPod(s.cluster, k.src.namespace, k.src.name);
  const dst = findPod(s.cluster, k.dst.namespace, k.dst.name);
  const real = await probe(s, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
  });
  const srcNode = findNode(s.cluster, src.node);
  const hops = await traceLogical(
    {
      exec: (node, argv) => runOnNode(s, node, argv),
      interconnect: s.cluster.shape === "interconnect",
      transitMac: (node) => findNode(s.cluster, node).transitMac,
    },
    {
      src: { node: src.node, lsp: src.lsp, mac: src.mac, ip: real.injected.srcIp },
      dstIp: real.injected.dstIp,
      dstMac: src.node === dst.node ? dst.mac : srcNode.gatewayMac,
      protocol: k.protocol,
      srcPort: real.injected.srcPort,
      dstPort: k.dstPort,
    },
  );
  const last = hops.at(-1)?.verdict;
  const tracedTo = last?.kind === "output" ? last.port : undefined;
  const v = real.verdict;
  const agree = v.kind === "delivered" ? tracedTo === `${v.namespace}_${v.pod}` : last?.kind === "dropped";
  return { case: k, hops, probe: real, agree };
}

/** The demo's cases on the default scenario: allowed and policy-dropped traffic across nodes. */
export function defaultDemoCases(s: LabState): DemoCase[] {
  const has = (ns: string, name: string): boolean =>
    s.cluster.pods.some((p) => p.namespace === ns && p.name === name);
  if (!has("default", "client") || !has("default", "web")) return [];
  const src = { namespace: "default", name: "client" };
  const dst = { namespace: "default", name: "web" };
  return [
    {
      title: "pod to pod across nodes, TCP 8080 (allowed by NetworkPolicy default/allow-8080)",
      src,
      dst,
      protocol: "tcp",
      dstPort: 8080,
    },
    {
      title: "pod to pod across nodes, TCP 80 (not allowed by default/allow-8080)",
      src,
      dst,
      protocol: "tcp",
      dstPort: 80,
    },
  ];
}
