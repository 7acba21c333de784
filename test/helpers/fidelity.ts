import type { LabState } from "../../src/lab/lab.js";
import {
  probe,
  type ProbeRequest,
  type ProbeResult,
  type ProbeVerdict,
  type SeenPacket,
} from "../../src/lab/probe.js";
import type { ArrivalAddresses, Verdict } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { canonicalIp } from "../../src/net/ip.js";

/**
 * The fidelity tests' comparison of a traced verdict with what a real packet did in the same lab (the ground
 * truth): the probe that sends the same packet, and the verdict, node, receiving pod and the four addresses and
 * ports on arrival.
 */

/** The real packet a trace target stands for. */
export function probeOf(t: TraceTarget): ProbeRequest {
  const dst =
    t.dst.kind === "ip"
      ? { kind: "ip" as const, ip: t.dst.ip }
      : { kind: t.dst.kind, namespace: t.dst.namespace, name: t.dst.name };
  return {
    src: t.src,
    dst,
    protocol: t.protocol,
    ...(t.protocol === "icmp" ? {} : { dstPort: t.dstPort }),
    ...(t.family === undefined ? {} : { family: t.family }),
  };
}

const ip = (s: string | undefined): string => (s === undefined ? "" : (canonicalIp(s) ?? s));

/** The addresses and ports on arrival, traced and real, as one comparable line each (undefined: the same). */
function sameAddresses(v: ArrivalAddresses, p: SeenPacket): string | undefined {
  const traced = `${ip(v.srcIp)}:${String(v.srcPort)} -> ${ip(v.dstIp)}:${String(v.dstPort)}`;
  const real = `${ip(p.src)}:${String(p.srcPort)} -> ${ip(p.dst)}:${String(p.dstPort)}`;
  return traced === real ? undefined : `addresses on arrival: real ${real}; traced ${traced}`;
}

/**
 * The same outcome: the same pod on the same node, or both dropped, or both out of the cluster through the
 * same node, or both rejected by the same node; and the same four addresses and ports on arrival.
 */
export function agree(v: Verdict, real: ProbeResult): string | undefined {
  const g = real.verdict;
  if (g.kind === "delivered") {
    if (v.kind !== "delivered" || v.to.kind !== "pod")
      return `real: delivered to ${g.pod}; traced: ${v.kind}`;
    if (v.to.name !== g.pod || v.node !== g.node)
      return `real: ${g.pod} on ${g.node}; traced: ${v.to.name} on ${v.node}`;
    return sameAddresses(v, g.packet);
  }
  if (g.kind === "not-delivered")
    return v.kind === "dropped" ? undefined : `real: not delivered; traced: ${v.kind}`;
  if (g.kind === "left-cluster") {
    if (v.kind !== "left-cluster") return `real: left the cluster; traced: ${v.kind}`;
    if (v.node !== g.node || v.snatIp !== g.packet.src)
      return `real: left ${g.node} as ${g.packet.src}; traced: ${v.node} as ${v.snatIp ?? "?"}`;
    return sameAddresses(v, g.packet);
  }
  if (g.kind === "delivered-to-host") {
    const ok = v.kind === "delivered" && v.port === "ovn-k8s-mp0" && v.node === g.node;
    return ok ? sameAddresses(v, g.packet) : `real: to the host of ${g.node}; traced: ${v.kind}`;
  }
  // rejected: OVN answered the sender
  if (v.kind !== "rejected") return `real: rejected (${g.packet.summary}); traced: ${v.kind}`;
  return sameAddresses(v, g.packet);
}

/**
 * Sends the reply a real peer would send, after the forward packet set up conntrack: back to the address and port
 * it received the packet from (a hairpin's SNAT address, not the sender's own). Undefined unless it was delivered.
 */
export async function realReply(
  state: LabState,
  t: TraceTarget,
  forward: ProbeResult,
): Promise<ProbeResult | undefined> {
  const g = forward.verdict;
  if (g.kind !== "delivered" || t.protocol === "icmp") return undefined;
  return probe(state, {
    src: { namespace: g.namespace, name: g.pod },
    dst: { kind: "ip", ip: g.packet.src },
    protocol: t.protocol,
    srcPort: g.packet.dstPort ?? 0,
    dstPort: g.packet.srcPort ?? forward.injected.srcPort,
    family: forward.injected.family,
    tcpFlags: "syn|ack",
  });
}

/** "NS/NAME" as a namespace and a name. */
export const podRef = (x: string): { namespace: string; name: string } => {
  const [namespace = "", name = ""] = x.split("/");
  return { namespace, name };
};

/** What a real IPv4 packet from pod `src` to pod `dst` (NS/NAME) on `port` (tcp/80) does in the lab: its verdict. */
export async function realVerdict(
  s: LabState,
  src: string,
  dst: string,
  port: string,
  srcPort: number,
): Promise<ProbeVerdict["kind"]> {
  const [protocol = "tcp", p = "0"] = port.split("/");
  const r = await probe(s, {
    src: podRef(src),
    dst: { kind: "pod", ...podRef(dst) },
    protocol: protocol as "tcp" | "udp",
    dstPort: Number(p),
    srcPort,
    family: 4,
  });
  return r.verdict.kind;
}
