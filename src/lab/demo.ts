import { traceLogical, type LogicalHop } from "../engine/logical-trace.js";
import {
  REPORT_SCHEMA_VERSION,
  type Endpoint,
  type GroundTruth,
  type Hop,
  type TraceReport,
  type Verdict,
} from "../model/report.js";
import type { LabPod } from "./cluster.js";
import { findNode, runOnNode, type LabState } from "./lab.js";
import { findPod, probe, type ProbeProtocol, type ProbeResult } from "./probe.js";
import { VERSION } from "../version.js";

export interface DemoCase {
  readonly title: string;
  readonly src: { readonly namespace: string; readonly name: string };
  readonly dst: { readonly namespace: string; readonly name: string };
  readonly protocol: ProbeProtocol;
  readonly dstPort: number;
}

function podEndpoint(p: LabPod, ip: string): Endpoint {
  return {
    kind: "pod",
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ip,
    mac: p.mac,
    lsp: p.lsp,
    iface: p.iface,
    hostNetwork: p.hostNetwork,
  };
}

function toHop(s: LabState, h: LogicalHop): Hop {
  const v = h.verdict;
  return {
    tool: "ovn-trace",
    node: h.node,
    zone: findNode(s.cluster, h.node).zone,
    startsIn: h.argv.at(-2) ?? "",
    command: h.argv,
    steps: [],
    outcome:
      v.kind === "output"
        ? { kind: "output", port: v.port, portType: v.portType }
        : v.kind === "dropped"
          ? { kind: "dropped", where: v.stage, reason: v.line }
          : { kind: "error", message: v.message },
    output: h.output,
  };
}

function verdictOf(hops: readonly Hop[], dst: LabPod, dstEndpoint: Endpoint): Verdict {
  const last = hops.at(-1);
  if (last === undefined) return { kind: "unknown", reason: "no trace ran" };
  const o = last.outcome;
  if (o.kind === "output" && o.port === dst.lsp)
    return { kind: "delivered", to: dstEndpoint, node: dst.node, port: o.port };
  if (o.kind === "dropped") return { kind: "dropped", node: last.node, where: o.where, reason: o.reason };
  if (o.kind === "error") return { kind: "unknown", reason: o.message };
  return {
    kind: "unknown",
    reason: `the logical trace ends at ${o.kind === "output" ? `port ${o.port}` : o.kind}`,
  };
}

function groundTruth(r: ProbeResult, verdict: Verdict): GroundTruth {
  const v = r.verdict;
  const agrees =
    v.kind === "delivered"
      ? verdict.kind === "delivered" &&
        verdict.to.kind === "pod" &&
        verdict.to.name === v.pod &&
        verdict.to.namespace === v.namespace
      : v.kind === "not-delivered"
        ? verdict.kind === "dropped"
        : v.kind === verdict.kind;
  const where =
    v.kind === "delivered"
      ? { node: v.node, pod: `${v.namespace}/${v.pod}` }
      : v.kind === "not-delivered" || v.kind === "rejected"
        ? {}
        : { node: v.node };
  const pkt = v.kind === "not-delivered" ? {} : { srcIp: v.packet.src, dstIp: v.packet.dst };
  return { verdict: v.kind, ...where, ...pkt, agrees };
}

/** Traces one pod-to-pod case with ovn-trace and checks it against a real packet. */
export async function runDemoCase(s: LabState, k: DemoCase): Promise<TraceReport> {
  const src = findPod(s.cluster, k.src.namespace, k.src.name);
  const dst = findPod(s.cluster, k.dst.namespace, k.dst.name);
  const real = await probe(s, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
  });
  const { srcIp, dstIp, srcPort, family } = real.injected;
  const logical = await traceLogical(
    {
      exec: (node, argv) => runOnNode(s, node, argv),
      interconnect: s.cluster.shape === "interconnect",
      transitMac: (node) => findNode(s.cluster, node).transitMac,
    },
    {
      src: { node: src.node, lsp: src.lsp, mac: src.mac, ip: srcIp },
      dstIp,
      dstMac: src.node === dst.node ? dst.mac : findNode(s.cluster, src.node).gatewayMac,
      protocol: k.protocol,
      srcPort,
      dstPort: k.dstPort,
    },
  );
  const hops = logical.map((h) => toHop(s, h));
  const dstEndpoint = podEndpoint(dst, dstIp);
  const verdict = verdictOf(hops, dst, dstEndpoint);
  return {
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "ovnkube-trace", version: VERSION },
    cluster: { backend: "lab", shape: s.cluster.shape, name: s.cluster.name },
    src: podEndpoint(src, srcIp),
    dst: dstEndpoint,
    forward: {
      packet: {
        direction: "forward",
        family,
        protocol: k.protocol,
        srcIp,
        dstIp,
        ...(k.protocol === "icmp" ? {} : { srcPort, dstPort: k.dstPort }),
        ctState: "trk,new",
      },
      hops,
      verdict,
      groundTruth: groundTruth(real, verdict),
    },
  };
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
