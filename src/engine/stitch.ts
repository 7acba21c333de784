import type {
  DatapathAction,
  DatapathTunnel,
  OfprotoTraceDocument,
  TracePass,
} from "../model/ofproto-trace.js";
import type { Family, L4Protocol, Step } from "../model/report.js";
import { hostPort } from "../net/ip.js";
import { lastTableStep, tableSteps } from "../parsers/ofproto-trace.js";
import type { NodeInterface, NodeView } from "./node-view.js";

/**
 * Stitching, pure: what one node's ofproto/trace says happens next. Its last pass either pushes the packet
 * into a geneve tunnel (the next node is the chassis with that encap IP in this node's SB; the packet it
 * receives is the final flow plus the header rewrites before the tunnel; it enters on that node's geneve
 * port towards this one), or delivers it to a pod's port, sends it out of an uplink (leaving the cluster),
 * or drops it. The engine runs the traces; this module decides from their parsed output.
 */

export interface OpenFlowPacket {
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly ethSrc: string;
  readonly ethDst: string;
  readonly src: string;
  readonly dst: string;
  readonly ttl: number;
  readonly srcPort?: number;
  readonly dstPort?: number;
}

/** A packet's addresses and ports at one point (no ports for ICMP). */
export interface PacketAddresses {
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
}

/** How the packet's journey through OpenFlow ended. */
export type OpenFlowEnd =
  | {
      readonly kind: "delivered";
      readonly node: string;
      readonly iface: string;
      readonly ifaceId?: string;
      /** As the receiver gets it: the last pass's final flow after the NAT its datapath actions apply. */
      readonly packet: PacketAddresses;
    }
  | {
      readonly kind: "left-cluster";
      readonly node: string;
      readonly iface: string;
      readonly bridge?: string;
      readonly snatIp?: string;
      /** As it leaves the node, after SNAT. */
      readonly packet: PacketAddresses;
    }
  | {
      readonly kind: "dropped";
      readonly node: string;
      readonly where: string;
      readonly reason: string;
      /** Cookie of the OpenFlow step that dropped: the first 32 bits of the logical flow's uuid. */
      readonly cookie?: string;
    }
  /** Handed to ovn-controller (packet-in): a reject, an ICMP error, ARP resolution... ofproto/trace stops there. */
  | { readonly kind: "controller"; readonly node: string; readonly cookie?: string }
  | { readonly kind: "error"; readonly node: string; readonly message: string };

/** What a node's trace says about the packet's next step. */
export type Crossing =
  | {
      readonly kind: "tunnel";
      readonly toNode: string;
      readonly vni: number;
      /** Encap IPs: this node's (the tunnel source) and the next node's. */
      readonly src: string;
      readonly dst: string;
      /** OVN's Geneve option (class 0x102, type 0x80): the logical ingress and egress port keys. */
      readonly geneveOption?: string;
      /** The packet as the next node receives it. */
      readonly packet: OpenFlowPacket;
    }
  | { readonly kind: "end"; readonly end: OpenFlowEnd }
  | { readonly kind: "error"; readonly message: string };

function l4Fields(p: OpenFlowPacket): string[] {
  const v6 = p.family === 6;
  if (p.protocol === "icmp")
    return v6 ? ["icmp6", "icmpv6_type=128", "icmpv6_code=0"] : ["icmp", "icmp_type=8", "icmp_code=0"];
  const proto = `${p.protocol}${v6 ? "6" : ""}`;
  return [proto, `${p.protocol}_src=${p.srcPort ?? 0}`, `${p.protocol}_dst=${p.dstPort ?? 0}`];
}

/** The flow argument of ofproto/trace for a packet (tp_src/tp_dst are refused by OVS 3.1, hence <proto>_src). */
export function flowSpec(inPort: string, p: OpenFlowPacket, tunnel: readonly string[] = []): string {
  const [proto, ...l4] = l4Fields(p);
  const l3 =
    p.family === 6 ? [`ipv6_src=${p.src}`, `ipv6_dst=${p.dst}`] : [`nw_src=${p.src}`, `nw_dst=${p.dst}`];
  return [
    `in_port=${inPort}`,
    ...tunnel,
    proto ?? "",
    `dl_src=${p.ethSrc}`,
    `dl_dst=${p.ethDst}`,
    ...l3,
    `nw_ttl=${p.ttl}`,
    ...l4,
  ].join(",");
}

export const lastPass = (doc: OfprotoTraceDocument): TracePass | undefined => doc.passes.at(-1);

/** The flow a pass ends with (`Final flow: unchanged` is the flow it started with). */
export const finalValues = (pass: TracePass): Readonly<Record<string, string>> =>
  pass.finalFlow === null || pass.finalFlow.unchanged ? pass.flow.values : pass.finalFlow.values;

function tunnelOfActions(
  actions: readonly DatapathAction[],
): { tunnel: DatapathTunnel; before: DatapathAction[] } | undefined {
  const i = actions.findIndex((a) => a.kind === "tnl_push" || a.kind === "set_tunnel");
  const a = actions[i];
  if (a === undefined || (a.kind !== "tnl_push" && a.kind !== "set_tunnel")) return undefined;
  return { tunnel: a.tunnel, before: actions.slice(0, i) };
}

/** The packet as the next node receives it: the last pass's final flow, then the header rewrites before the tunnel. */
function packetAfter(
  pass: TracePass,
  before: readonly DatapathAction[],
  base: OpenFlowPacket,
): OpenFlowPacket {
  const f = finalValues(pass);
  let p: OpenFlowPacket = {
    ...base,
    ethSrc: f.dl_src ?? base.ethSrc,
    ethDst: f.dl_dst ?? base.ethDst,
    src: (base.family === 6 ? f.ipv6_src : f.nw_src) ?? base.src,
    dst: (base.family === 6 ? f.ipv6_dst : f.nw_dst) ?? base.dst,
    ttl: Number(f.nw_ttl ?? base.ttl),
    ...(f.tp_src === undefined ? {} : { srcPort: Number(f.tp_src) }),
    ...(f.tp_dst === undefined ? {} : { dstPort: Number(f.tp_dst) }),
  };
  for (const a of before) {
    if (a.kind !== "set") continue;
    const s = a.fields;
    if (a.header === "eth") p = { ...p, ethSrc: s.src ?? p.ethSrc, ethDst: s.dst ?? p.ethDst };
    if (a.header === "ipv4" || a.header === "ipv6") {
      p = { ...p, src: s.src ?? p.src, dst: s.dst ?? p.dst, ttl: Number(s.ttl ?? s.hlimit ?? p.ttl) };
    }
    if (a.header === "tcp" || a.header === "udp" || a.header === "sctp") {
      p = { ...p, srcPort: Number(s.src ?? p.srcPort), dstPort: Number(s.dst ?? p.dstPort) };
    }
  }
  return p;
}

/**
 * The packet as it leaves the node through an uplink: the last pass's final flow, its header rewrites and the
 * translations of its own `ct(nat(...))` (what a neighbour on the underlay receives).
 */
export function packetLeaving(pass: TracePass, base: OpenFlowPacket): OpenFlowPacket {
  const p = packetAfter(pass, pass.datapathActions.actions, base);
  const a = arrivalOf(pass, base.protocol);
  return {
    ...p,
    src: a.srcIp === "" ? p.src : a.srcIp,
    dst: a.dstIp === "" ? p.dst : a.dstIp,
    ...(a.srcPort === undefined ? {} : { srcPort: a.srcPort }),
    ...(a.dstPort === undefined ? {} : { dstPort: a.dstPort }),
  };
}

export function stepsOf(doc: OfprotoTraceDocument): Step[] {
  return doc.passes.flatMap((pass) =>
    pass.bridges.flatMap((b) =>
      tableSteps(b.items).map((t): Step => ({
        kind: "openflow",
        bridge: t.bridge,
        table: t.table,
        ...(t.priority === null ? {} : { priority: t.priority }),
        ...(t.cookie === null ? {} : { cookie: t.cookie }),
        match: t.match ?? t.miss ?? "",
        actions: t.items.flatMap((i) => (i.kind === "action" ? [i.text] : [])),
        source: { line: t.source.line, text: t.source.text },
      })),
    ),
  );
}

/** The DNAT target a pass applied (`ct(...,nat(dst=ADDR[:PORT]))`), as "ip:port". */
export function dnatOf(doc: OfprotoTraceDocument): string | undefined {
  for (const pass of doc.passes) {
    for (const a of pass.datapathActions.actions) {
      if (a.kind === "ct" && a.nat?.direction === "dst" && a.nat.addr !== null) {
        return hostPort(a.nat.addr, a.nat.port);
      }
    }
  }
  return undefined;
}

function describeDrop(doc: OfprotoTraceDocument): { where: string; reason: string; cookie?: string } {
  const pass = lastPass(doc);
  const step = pass === undefined ? null : lastTableStep(pass);
  if (pass?.translationFailure) return { where: "translation", reason: pass.translationFailure };
  if (step === null) return { where: "br-int", reason: "no flow matched" };
  return {
    ...(step.cookie === null ? {} : { cookie: step.cookie }),
    where: `${step.bridge} table ${step.table}${step.cookie === null ? "" : ` (cookie ${step.cookie})`}`,
    reason: step.miss ?? `${step.match ?? ""}, priority ${step.priority ?? "?"}: drop`,
  };
}

function outputPorts(actions: readonly DatapathAction[]): (number | string)[] {
  return actions.flatMap((a) =>
    a.kind === "output" ? [a.port] : a.kind === "clone" ? outputPorts(a.actions) : [],
  );
}

function snatOf(actions: readonly DatapathAction[]): string | undefined {
  for (const a of actions)
    if (a.kind === "ct" && a.nat?.direction === "src" && a.nat.addr !== null) return a.nat.addr;
  return undefined;
}

function tunnelCrossing(
  pass: TracePass,
  found: { tunnel: DatapathTunnel; before: DatapathAction[] },
  view: NodeView,
  packet: OpenFlowPacket,
): Crossing {
  const dst = found.tunnel.dst ?? "";
  const toNode = view.encapNodes.get(dst);
  if (toNode === undefined)
    return { kind: "error", message: `tunnel to ${dst}: no chassis with that encap IP in ${view.node}'s SB` };
  const src = found.tunnel.src ?? [...view.encapNodes.entries()].find(([, n]) => n === view.node)?.[0];
  if (src === undefined) return { kind: "error", message: `no encap IP of ${view.node} in its SB` };
  const opt = found.tunnel.geneveOptions.find((o) => o.class === "0x102" && o.type === "0x80");
  return {
    kind: "tunnel",
    toNode,
    vni: Number(found.tunnel.vni ?? "0"),
    src,
    dst,
    ...(opt === undefined ? {} : { geneveOption: opt.value }),
    packet: packetAfter(pass, found.before, packet),
  };
}

/**
 * The packet as the last pass sends it: its final flow, then the translations its own `ct(nat(...))` actions
 * make (ofproto/trace shows a NAT in the flow only after a recirculation, and a last pass has none after it).
 */
export function arrivalOf(pass: TracePass, protocol: L4Protocol): PacketAddresses {
  const f = finalValues(pass);
  const ports = protocol !== "icmp" && f.tp_src !== undefined && f.tp_dst !== undefined;
  let p: PacketAddresses = {
    srcIp: f.nw_src ?? f.ipv6_src ?? "",
    dstIp: f.nw_dst ?? f.ipv6_dst ?? "",
    ...(ports ? { srcPort: Number(f.tp_src), dstPort: Number(f.tp_dst) } : {}),
  };
  for (const a of pass.datapathActions.actions) {
    if (a.kind !== "ct" || a.nat?.addr == null) continue;
    const port = a.nat.port ?? undefined;
    if (a.nat.direction === "src")
      p = { ...p, srcIp: a.nat.addr, ...(port === undefined || !ports ? {} : { srcPort: port }) };
    if (a.nat.direction === "dst")
      p = { ...p, dstIp: a.nat.addr, ...(port === undefined || !ports ? {} : { dstPort: port }) };
  }
  return p;
}

/** The rule cookie of a packet-in (`userspace(...controller(...rule_cookie=0x...))`), when the pass ends in one. */
function controllerOf(actions: readonly DatapathAction[]): { cookie?: string } | undefined {
  const a = actions.find((x) => x.kind === "userspace" && x.text.includes("controller("));
  if (a === undefined) return undefined;
  const cookie = /rule_cookie=(0x[0-9a-f]+)/.exec(a.text)?.[1];
  return cookie === undefined ? {} : { cookie };
}

function endOf(
  doc: OfprotoTraceDocument,
  actions: readonly DatapathAction[],
  view: NodeView,
  protocol: L4Protocol,
): OpenFlowEnd {
  const node = view.node;
  const pass = lastPass(doc);
  const outs = outputPorts(actions)
    .map((p) => view.interfaces.find((i) => (typeof p === "number" ? i.odpPort === p : i.name === p)))
    .filter((i): i is NodeInterface => i !== undefined);
  const delivered = outs.find((i) => i.bridge === "br-int" && i.ifaceId !== undefined);
  if (delivered !== undefined && pass !== undefined)
    return {
      kind: "delivered",
      node,
      iface: delivered.name,
      ...(delivered.ifaceId === undefined ? {} : { ifaceId: delivered.ifaceId }),
      packet: arrivalOf(pass, protocol),
    };
  const uplink =
    outs.find((i) => i.bridge !== "br-int" && i.type !== "internal") ??
    outs.find((i) => i.bridge !== "br-int");
  if (uplink !== undefined && pass !== undefined) {
    // the last source NAT on the way is the address it leaves with (breth0 may SNAT again what OVN SNATed)
    const snatIp = doc.passes
      .map((p) => snatOf(p.datapathActions.actions))
      .filter((x) => x !== undefined)
      .at(-1);
    return {
      kind: "left-cluster",
      node,
      iface: uplink.name,
      ...(uplink.bridge === undefined ? {} : { bridge: uplink.bridge }),
      ...(snatIp === undefined ? {} : { snatIp }),
      packet: arrivalOf(pass, protocol),
    };
  }
  const controller = controllerOf(actions);
  if (controller !== undefined) return { kind: "controller", node, ...controller };
  return { kind: "dropped", node, ...describeDrop(doc) };
}

/** What happens after this node's trace, from its parsed output and the node's OVS. */
export function crossingOf(doc: OfprotoTraceDocument, view: NodeView, packet: OpenFlowPacket): Crossing {
  const pass = lastPass(doc);
  const actions = pass?.datapathActions.actions ?? [];
  const found = tunnelOfActions(actions);
  if (pass !== undefined && found?.tunnel.dst != null) return tunnelCrossing(pass, found, view, packet);
  return { kind: "end", end: endOf(doc, actions, view, packet.protocol) };
}

/** Where a packet enters a node's OVS: the port (of a bridge), the tunnel fields it comes with, and the packet. */
export interface OpenFlowEntry {
  readonly bridge: string;
  readonly inPort: string;
  readonly tunnel: readonly string[];
  readonly packet: OpenFlowPacket;
}

/** A packet arriving through a geneve tunnel: its VNI, both endpoints and OVN's port keys option. */
export function tunnelFields(vni: number, src: string, dst: string, geneveOption?: string): string[] {
  return [
    `tun_id=0x${vni.toString(16)}`,
    `tun_src=${src}`,
    `tun_dst=${dst}`,
    ...(geneveOption === undefined ? [] : [`tun_metadata0=${geneveOption}`]),
  ];
}

/** Where the next node's trace starts: the packet on its geneve port towards the sending node. */
export function entryOf(
  c: Extract<Crossing, { kind: "tunnel" }>,
  next: NodeView,
): { readonly entry: OpenFlowEntry } | { readonly error: string } {
  const port = next.interfaces.find((i) => i.type === "geneve" && i.remoteIp === c.src);
  if (port === undefined) return { error: `no geneve port towards ${c.src} on ${c.toNode}` };
  return {
    entry: {
      bridge: "br-int",
      inPort: port.name,
      tunnel: tunnelFields(c.vni, c.src, c.dst, c.geneveOption),
      packet: c.packet,
    },
  };
}

/** The flow the next node's trace starts with: the packet on its geneve port towards the sending node. */
export function entryFlow(
  c: Extract<Crossing, { kind: "tunnel" }>,
  next: NodeView,
): { readonly flow: string } | { readonly error: string } {
  const e = entryOf(c, next);
  if ("error" in e) return e;
  return { flow: flowSpec(e.entry.inPort, e.entry.packet, e.entry.tunnel) };
}
