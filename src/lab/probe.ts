import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { InputError, ProcessError } from "../errors.js";
import { parseIp, type Family } from "../net/ip.js";
import type { TraceSource } from "../model/target.js";
import { dockerMac, type LabCluster, type LabPod } from "./cluster.js";
import { findNode, renewLabTunnelNeighbours, runOnNode, type LabState } from "./lab.js";
import { labLayout } from "./layout.js";
import { onLink, podAddressFrom, podIfaces, sendingInterface } from "./udn-routing.js";
import { decodeFrame, formatPacket, readPcap, type EthernetFrame, type DecodedFrame } from "./pcap.js";
import { describeFailure } from "../cluster/backend.js";

/**
 * Ground truth: inject one real packet at a pod's OVS port (netdev-dummy/receive), or for a client outside the
 * cluster at a node's uplink (eth0 of its breth0, from the underlay gateway's MAC to the node's), and read back,
 * from the pcap of every port of every node, where it came out and with which addresses.
 */

export type ProbeProtocol = "tcp" | "udp" | "icmp";

export type ProbeTarget =
  | { readonly kind: "pod"; readonly namespace: string; readonly name: string }
  | { readonly kind: "service"; readonly namespace: string; readonly name: string }
  | { readonly kind: "ip"; readonly ip: string };

export interface ProbeRequest {
  /** A pod, or a client outside the cluster whose packet arrives at a node's uplink. */
  readonly src: TraceSource;
  readonly dst: ProbeTarget;
  readonly protocol: ProbeProtocol;
  readonly dstPort?: number;
  readonly srcPort?: number;
  readonly family?: Family;
  /** TCP flags of the packet (default "syn"; "syn|ack" for a reply). */
  readonly tcpFlags?: string;
  /** How long to wait for the packet to come out somewhere (default 1000 ms; quiet after 250 ms ends it). */
  readonly waitMs?: number;
}

/** Addresses of a packet as captured (after any NAT on the way). */
export interface SeenPacket {
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly protocol: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  readonly tcpFlags?: readonly string[];
  readonly icmpType?: number;
  readonly summary: string;
}

export type PortOwner =
  | { readonly kind: "pod"; readonly namespace: string; readonly name: string }
  | { readonly kind: "management-port" }
  | { readonly kind: "uplink" };

export interface Arrival {
  readonly node: string;
  readonly iface: string;
  readonly owner: PortOwner;
  /** "forward": the probe itself; "reply": something sent back to the source (e.g. a TCP RST). */
  readonly direction: "forward" | "reply";
  readonly packet: SeenPacket;
  /** Set when the frame on the uplink was the probe inside a geneve tunnel to another node. */
  readonly geneve?: {
    readonly vni: number;
    readonly outerSrc: string;
    readonly outerDst: string;
    readonly ingressPortKey?: number;
    readonly egressPortKey?: number;
  };
}

export type ProbeVerdict =
  | {
      readonly kind: "delivered";
      readonly namespace: string;
      readonly pod: string;
      readonly node: string;
      readonly packet: SeenPacket;
    }
  | { readonly kind: "delivered-to-host"; readonly node: string; readonly packet: SeenPacket }
  | { readonly kind: "left-cluster"; readonly node: string; readonly packet: SeenPacket }
  | { readonly kind: "rejected"; readonly packet: SeenPacket }
  | { readonly kind: "not-delivered" };

export interface ProbeResult {
  readonly injected: {
    readonly node: string;
    readonly iface: string;
    readonly packet: string;
    readonly family: Family;
    readonly protocol: ProbeProtocol;
    readonly srcIp: string;
    readonly dstIp: string;
    readonly srcPort: number;
    readonly dstPort: number;
  };
  readonly verdict: ProbeVerdict;
  readonly arrivals: readonly Arrival[];
}

export function findPod(c: LabCluster, namespace: string, name: string): LabPod {
  const p = c.pods.find((x) => x.namespace === namespace && x.name === name);
  if (p === undefined) {
    throw new InputError(`pod ${namespace}/${name} not found in the lab`, {
      hint: `lab pods: ${c.pods.map((x) => `${x.namespace}/${x.name}`).join(", ")}`,
    });
  }
  return p;
}

/** Who sends the probe: where it is injected, and the pod it is (none for a client outside). */
interface Sender {
  readonly node: string;
  readonly iface: string;
  readonly mac: string;
  readonly pod?: LabPod;
}

interface Resolved {
  readonly sender: Sender;
  readonly family: Family;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly dstMac: string;
}

/** The address and port a packet to a Service is sent to: its cluster IP and port, or a node's IP and its nodePort. */
function serviceAddress(
  c: LabCluster,
  req: ProbeRequest,
  d: { readonly namespace: string; readonly name: string },
  family: Family,
  node?: { readonly ip: string; readonly ipv6?: string },
): { ip: string; port: number } {
  const svc = c.services.find((s) => s.namespace === d.namespace && s.name === d.name);
  if (svc === undefined) throw new InputError(`service ${d.namespace}/${d.name} not found in the lab`);
  const proto = req.protocol.toUpperCase();
  if (node !== undefined) {
    const sp = svc.ports.find(
      (p) =>
        p.protocol === proto &&
        p.nodePort !== undefined &&
        (req.dstPort === undefined || p.port === req.dstPort || p.nodePort === req.dstPort),
    );
    if (sp?.nodePort === undefined)
      throw new InputError(`service ${d.namespace}/${d.name} has no ${proto} nodePort`);
    const ip = family === 4 ? node.ip : node.ipv6;
    if (ip === undefined) throw new InputError(`the node has no IPv${family} address`);
    return { ip, port: sp.nodePort };
  }
  const ip = svc.clusterIPs[family];
  if (ip === undefined)
    throw new InputError(`service ${d.namespace}/${d.name} has no IPv${family} cluster IP`);
  const sp = svc.ports.find(
    (p) => (req.dstPort === undefined || p.port === req.dstPort) && p.protocol === proto,
  );
  if (sp === undefined && req.protocol !== "icmp") {
    throw new InputError(
      `service ${d.namespace}/${d.name} has no ${proto} port${req.dstPort === undefined ? "" : ` ${req.dstPort}`}`,
    );
  }
  return { ip, port: sp?.port ?? req.dstPort ?? 80 };
}

/** A client outside the cluster: its packet arrives at the node's uplink from the underlay gateway's MAC. */
function resolveFromOutside(
  c: LabCluster,
  req: ProbeRequest,
  src: { readonly ip: string; readonly node: string },
): Resolved {
  const node = findNode(c, src.node);
  const from = parseIp(src.ip);
  if (from === undefined) throw new InputError(`"${src.ip}" is not an IP address`);
  const family = req.family ?? from.family;
  if (family !== from.family) throw new InputError(`${src.ip} is not an IPv${family} address`);
  const d = req.dst;
  let dstIp: string;
  let dstPort = req.dstPort ?? 80;
  if (d.kind === "service") ({ ip: dstIp, port: dstPort } = serviceAddress(c, req, d, family, node));
  else if (d.kind === "ip") dstIp = d.ip;
  else {
    const ip = findPod(c, d.namespace, d.name).ips[family];
    if (ip === undefined) throw new InputError(`pod ${d.namespace}/${d.name} has no IPv${family} address`);
    dstIp = ip;
  }
  return {
    sender: { node: node.name, iface: "eth0", mac: dockerMac(c.underlay.gateway) },
    family,
    srcIp: src.ip,
    dstIp,
    dstPort,
    dstMac: node.mac,
  };
}

function resolve(c: LabCluster, req: ProbeRequest): Resolved {
  const s = req.src;
  if (s.kind === "external") return resolveFromOutside(c, req, s);
  const pod = findPod(c, s.namespace, s.name);
  if (pod.hostNetwork)
    throw new InputError(
      `pod ${pod.namespace}/${pod.name} is host-networked: it has no OVS port to inject at`,
    );
  let family: Family | undefined = req.family;
  let dstIp: string;
  let dstPort = req.dstPort ?? 80;
  const d = req.dst;
  if (d.kind === "ip") {
    const ip = parseIp(d.ip);
    if (ip === undefined) throw new InputError(`"${d.ip}" is not an IP address`);
    if (family !== undefined && family !== ip.family)
      throw new InputError(`${d.ip} is not an IPv${family} address`);
    family = ip.family;
    dstIp = d.ip;
  } else if (d.kind === "pod") {
    const dst = findPod(c, d.namespace, d.name);
    family ??= dst.ips[4] !== undefined && pod.ips[4] !== undefined ? 4 : 6;
    const ip = podAddressFrom(pod, dst, family);
    if (ip === undefined) throw new InputError(`pod ${d.namespace}/${d.name} has no IPv${family} address`);
    dstIp = ip;
  } else {
    const svc = c.services.find((x) => x.namespace === d.namespace && x.name === d.name);
    family ??= svc?.clusterIPs[4] !== undefined && pod.ips[4] !== undefined ? 4 : 6;
    ({ ip: dstIp, port: dstPort } = serviceAddress(c, req, d, family));
  }
  const out = sendingInterface(c, pod, family, dstIp);
  const srcIp = out.ip;
  if (srcIp === undefined)
    throw new InputError(`pod ${pod.namespace}/${pod.name} has no IPv${family} address`);
  // On-link destinations are reached directly (the pod resolves their MAC); the rest via the gateway.
  const peerMac = onLink(out, dstIp) ? out.peerMac(dstIp) : undefined;
  return {
    sender: { node: pod.node, iface: out.iface, mac: out.mac, pod },
    family,
    srcIp,
    dstIp,
    dstPort,
    dstMac: peerMac ?? out.gatewayMac,
  };
}

/** The packet in the ODP flow syntax netdev-dummy/receive takes. */
function odpPacket(r: Resolved, protocol: ProbeProtocol, srcPort: number, tcpFlags = "syn"): string {
  const v4 = r.family === 4;
  const proto = protocol === "tcp" ? 6 : protocol === "udp" ? 17 : v4 ? 1 : 58;
  const l3 = v4
    ? `eth_type(0x0800),ipv4(src=${r.srcIp},dst=${r.dstIp},proto=${proto},tos=0,ttl=64,frag=no)`
    : `eth_type(0x86dd),ipv6(src=${r.srcIp},dst=${r.dstIp},proto=${proto},tclass=0,hlimit=64,frag=no)`;
  const l4 =
    protocol === "tcp"
      ? `tcp(src=${srcPort},dst=${r.dstPort}),tcp_flags(${tcpFlags})`
      : protocol === "udp"
        ? `udp(src=${srcPort},dst=${r.dstPort})`
        : v4
          ? "icmp(type=8,code=0)"
          : "icmpv6(type=128,code=0)";
  return `eth(src=${r.sender.mac},dst=${r.dstMac}),${l3},${l4}`;
}

interface Capture {
  readonly node: string;
  readonly iface: string;
  readonly owner: PortOwner;
  readonly file: string;
  offset: number;
}

function captures(s: LabState): Capture[] {
  const l = labLayout(s.dir);
  return s.cluster.nodes.flatMap((n) => {
    const dir = l.pcapDir(n.name);
    const ports: { iface: string; owner: PortOwner }[] = [
      { iface: "eth0", owner: { kind: "uplink" } },
      { iface: "ovn-k8s-mp0", owner: { kind: "management-port" } },
      ...s.cluster.pods
        .filter((p) => p.node === n.name && !p.hostNetwork)
        .flatMap((p) =>
          podIfaces(p).map((iface) => ({
            iface,
            owner: { kind: "pod", namespace: p.namespace, name: p.name } as const,
          })),
        ),
    ];
    return ports.map(({ iface, owner }) => {
      const file = join(dir, `${iface}-tx.pcap`);
      return { node: n.name, iface, owner, file, offset: existsSync(file) ? statSync(file).size : 0 };
    });
  });
}

function seen(f: EthernetFrame): SeenPacket | undefined {
  const l3 = f.l3;
  if (l3.kind !== "ipv4" && l3.kind !== "ipv6") return undefined;
  const l4 = f.l4;
  const base = {
    ethSrc: f.eth.src,
    ethDst: f.eth.dst,
    src: l3.src,
    dst: l3.dst,
    ttl: l3.kind === "ipv4" ? l3.ttl : l3.hopLimit,
    summary: formatPacket(f),
  };
  if (l4 === undefined || l4.kind === "unknown") return { ...base, protocol: "ip" };
  if (l4.kind === "tcp")
    return { ...base, protocol: "tcp", srcPort: l4.srcPort, dstPort: l4.dstPort, tcpFlags: l4.flags };
  if (l4.kind === "udp") return { ...base, protocol: "udp", srcPort: l4.srcPort, dstPort: l4.dstPort };
  return { ...base, protocol: l4.kind, icmpType: l4.type };
}

/** Is this captured packet our probe (forward) or a reply to it? */
function classify(
  p: SeenPacket,
  protocol: ProbeProtocol,
  srcPort: number,
  dstPort: number,
  family: Family,
): "forward" | "reply" | undefined {
  if (protocol === "icmp") {
    if (p.icmpType === (family === 4 ? 8 : 128)) return "forward";
    if (p.icmpType === (family === 4 ? 0 : 129)) return "reply";
    return undefined;
  }
  if (p.protocol === protocol && p.srcPort === srcPort) return "forward";
  if (p.protocol === protocol && p.dstPort === srcPort) return "reply";
  // un-DNAT of a reply through a service rewrites its source port: the destination port still says it is ours
  if (p.protocol === protocol && p.dstPort === dstPort) return "forward";
  // An ICMP error (e.g. port unreachable from an LB reject) quoting our packet.
  if ((p.protocol === "icmp" && p.icmpType === 3) || (p.protocol === "icmpv6" && p.icmpType === 1))
    return "reply";
  return undefined;
}

function readNew(c: Capture): DecodedFrame[] {
  if (!existsSync(c.file)) return [];
  const buf = readFileSync(c.file);
  if (buf.length <= Math.max(c.offset, 24)) return [];
  const header = buf.subarray(0, 24);
  const body = buf.subarray(Math.max(c.offset, 24));
  return readPcap(Buffer.concat([header, body]), { allowTruncatedTail: true }).map((p) =>
    decodeFrame(p.frame),
  );
}

let nextPort = 40000 + (process.pid % 10000);

/** Injects one real packet and reports where it arrived. */
/** When this process last renewed a lab's tunnel neighbours for probes, by lab directory. */
const neighboursRenewed = new Map<string, number>();

/** A probe may cross any node: every node's neighbours, renewed at most every few minutes (they live 15). */
async function renewNeighboursOfProbes(s: LabState): Promise<void> {
  if (Date.now() - (neighboursRenewed.get(s.dir) ?? -Infinity) < 5 * 60_000) return;
  for (const n of s.cluster.nodes) await renewLabTunnelNeighbours(s, n.name);
  neighboursRenewed.set(s.dir, Date.now());
}

export async function probe(s: LabState, req: ProbeRequest): Promise<ProbeResult> {
  const r = resolve(s.cluster, req);
  const srcPort = req.srcPort ?? (nextPort = nextPort >= 60000 ? 40000 : nextPort + 1);
  const packet = odpPacket(r, req.protocol, srcPort, req.tcpFlags);
  const caps = captures(s);
  await renewNeighboursOfProbes(s);
  const res = await runOnNode(
    s,
    r.sender.node,
    ["ovs-appctl", "netdev-dummy/receive", r.sender.iface, packet],
    10_000,
  );
  if (res.exitCode !== 0) throw new ProcessError(`could not inject the probe: ${describeFailure(res)}`);

  // Wait until the captures are quiet (or the limit), reading only what was appended.
  const limit = Date.now() + (req.waitMs ?? 1000);
  let lastGrowth = Date.now();
  let sizes = caps.map((c) => (existsSync(c.file) ? statSync(c.file).size : 0));
  while (Date.now() < limit && Date.now() - lastGrowth < 250) {
    await sleep(25);
    const now = caps.map((c) => (existsSync(c.file) ? statSync(c.file).size : 0));
    if (now.some((v, i) => v !== sizes[i])) lastGrowth = Date.now();
    sizes = now;
  }

  const arrivals: Arrival[] = [];
  for (const c of caps) {
    for (const f of readNew(c)) {
      if (f.kind !== "eth") continue;
      const g = f.geneve;
      if (g?.kind === "geneve" && g.inner.kind === "eth") {
        const inner = seen(g.inner);
        const outer = f.l3;
        const dir = inner && classify(inner, req.protocol, srcPort, r.dstPort, r.family);
        if (inner && dir && (outer.kind === "ipv4" || outer.kind === "ipv6")) {
          arrivals.push({
            node: c.node,
            iface: c.iface,
            owner: c.owner,
            direction: dir,
            packet: inner,
            geneve: {
              vni: g.vni,
              outerSrc: outer.src,
              outerDst: outer.dst,
              ...(g.ovnIngressPortKey === undefined ? {} : { ingressPortKey: g.ovnIngressPortKey }),
              ...(g.ovnEgressPortKey === undefined ? {} : { egressPortKey: g.ovnEgressPortKey }),
            },
          });
        }
        continue;
      }
      const p = seen(f);
      const dir = p && classify(p, req.protocol, srcPort, r.dstPort, r.family);
      if (p && dir)
        arrivals.push({ node: c.node, iface: c.iface, owner: c.owner, direction: dir, packet: p });
    }
  }
  return {
    injected: {
      node: r.sender.node,
      iface: r.sender.iface,
      packet,
      family: r.family,
      protocol: req.protocol,
      srcIp: r.srcIp,
      dstIp: r.dstIp,
      srcPort,
      dstPort: r.dstPort,
    },
    verdict: verdictOf(arrivals, r.sender),
    arrivals,
  };
}

function verdictOf(arrivals: readonly Arrival[], sender: Sender): ProbeVerdict {
  const src = sender.pod;
  const fwd = arrivals.filter((a) => a.direction === "forward" && a.geneve === undefined);
  for (const a of fwd) {
    if (a.owner.kind === "pod" && !(a.owner.namespace === src?.namespace && a.owner.name === src.name)) {
      return {
        kind: "delivered",
        namespace: a.owner.namespace,
        pod: a.owner.name,
        node: a.node,
        packet: a.packet,
      };
    }
  }
  // the packet sent out of the source's own port: a load balancer picked the sender itself (hairpin)
  const hairpin = fwd.find((a) => a.owner.kind === "pod");
  if (hairpin?.owner.kind === "pod")
    return {
      kind: "delivered",
      namespace: hairpin.owner.namespace,
      pod: hairpin.owner.name,
      node: hairpin.node,
      packet: hairpin.packet,
    };
  const host = fwd.find((a) => a.owner.kind === "management-port");
  if (host) return { kind: "delivered-to-host", node: host.node, packet: host.packet };
  const out = fwd.find((a) => a.owner.kind === "uplink");
  if (out) return { kind: "left-cluster", node: out.node, packet: out.packet };
  // the answer comes back to the sender: to its pod's port, or out of the uplink it came in on
  const back = arrivals.find((a) =>
    a.direction !== "reply" || a.geneve !== undefined
      ? false
      : src === undefined
        ? a.owner.kind === "uplink" && a.node === sender.node
        : a.owner.kind === "pod" && a.owner.name === src.name && a.owner.namespace === src.namespace,
  );
  if (back) return { kind: "rejected", packet: back.packet };
  return { kind: "not-delivered" };
}
