import { LabBackend } from "../backends/lab/backend.js";
import { resolveTarget } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import type { GroundTruth, TraceReport, Verdict } from "../model/report.js";
import type { LabState } from "../lab/lab.js";
import { probe, type ProbeProtocol, type ProbeResult } from "../lab/probe.js";

export interface DemoCase {
  readonly title: string;
  readonly src: { readonly namespace: string; readonly name: string };
  readonly dst: { readonly namespace: string; readonly name: string };
  readonly protocol: ProbeProtocol;
  readonly dstPort: number;
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

/** Traces one pod-to-pod case with the trace engine on the lab, and checks it against a real packet. */
export async function runDemoCase(s: LabState, k: DemoCase): Promise<TraceReport> {
  const real = await probe(s, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
  });
  const backend = new LabBackend(s);
  const resolution = await resolveTarget(backend, {
    src: k.src,
    dst: { kind: "pod", ...k.dst },
    protocol: k.protocol,
    dstPort: k.dstPort,
    family: real.injected.family,
  });
  const [report] = await runTraces(backend, resolution, {
    skipDetrace: true,
    srcPort: real.injected.srcPort,
  });
  if (report === undefined) throw new Error("internal: no report");
  return {
    ...report,
    cluster: { ...report.cluster, name: s.cluster.name },
    forward: { ...report.forward, groundTruth: groundTruth(real, report.forward.verdict) },
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
