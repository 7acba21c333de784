import type { ClusterBackend } from "../cluster/backend.js";
import { ParseError } from "../errors.js";
import type { OfprotoTraceDocument } from "../model/ofproto-trace.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Hop, HopOutcome } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { hostPort } from "../net/ip.js";
import { numberColumn, options, stringColumn, tableRows } from "../ovsdb/index.js";
import { parseOfprotoTrace } from "../parsers/ofproto-trace.js";
import { unsnatIn, type NatEvent, type Unsnat } from "./conntrack.js";
import { loadNodeView, type NodeView } from "./node-view.js";
import {
  crossingOf,
  dnatOf,
  entryOf,
  flowSpec,
  lastPass,
  packetLeaving,
  stepsOf,
  tunnelFields,
  type OpenFlowEntry,
  type OpenFlowEnd,
  type OpenFlowPacket,
} from "./stitch.js";

/**
 * ofproto/trace on every node the packet visits: from the source pod's OVS port, across geneve tunnels
 * (stitch.ts decides each next step from the parsed trace), until the packet is delivered to a port,
 * dropped, or leaves through the node's uplink.
 */

export interface OpenFlowTraceRequest {
  readonly node: string;
  /** The bridge the packet enters: br-int (the default), or a node's shared gateway bridge for a packet from outside. */
  readonly bridge?: string;
  /** OVS interface the packet enters the bridge on (the pod's veth, ovn-k8s-mp0, the gateway bridge's uplink). */
  readonly inPort: string;
  readonly packet: OpenFlowPacket;
  /** Conntrack state to assume at each ct() recirculation ("trk,new" first packet, "trk,est,rpl" reply). */
  readonly ctState: string;
  /** A service backend the LB must pick ("ip:port" as in nat(dst=...)), to resolve dp_hash groups. */
  readonly wantBackend?: string;
  /**
   * For a reply: the forward direction's translations. Where the reply meets the un-SNAT of one of them, the trace
   * goes on with the destination conntrack gives the packet back (see {@link reentry}).
   */
  readonly undo?: readonly NatEvent[];
  /** A node's zone databases, read when an un-SNAT needs the SB's logical ports. */
  readonly databases?: (node: string) => Promise<OvnDatabases>;
  readonly maxHops?: number;
}

/** Where conntrack gave a reply its original destination back (an un-SNAT), and the packet from there on. */
export interface UnsnatPoint {
  readonly node: string;
  /** The SNAT undone: the address the reply was sent to, and the one it goes on to. */
  readonly to: { readonly ip: string; readonly port?: number };
  readonly from: { readonly ip: string; readonly port?: number };
  /** The logical router port the packet entered the router that undid it on (the SB's name), when known. */
  readonly inport?: string;
  /** The packet as that router goes on with it: its headers there, with the restored destination. */
  readonly packet: OpenFlowPacket;
}

export interface OpenFlowTrace {
  readonly hops: readonly TracedHop[];
  readonly end: OpenFlowEnd;
  readonly unsnat?: UnsnatPoint;
}

const CT_REPEAT = 8;

function ctArgs(ctState: string): string[] {
  return Array.from({ length: CT_REPEAT }, () => ["--ct-next", ctState]).flat();
}

/** Node views shared by every trace of a run: each node's OVS is read once. */
export type NodeViews = Map<string, Promise<NodeView>>;

export function nodeView(b: ClusterBackend, views: NodeViews, node: string): Promise<NodeView> {
  let v = views.get(node);
  if (v === undefined) {
    v = loadNodeView(b, node);
    views.set(node, v);
  }
  return v;
}

interface Ctx {
  readonly b: ClusterBackend;
  readonly views: NodeViews;
  readonly ctState: string;
}

/** One ofproto/trace run as a hop, with its parsed document (the outcome is for the caller to settle). */
export interface OpenFlowRun {
  readonly hop: Hop;
  readonly doc?: OfprotoTraceDocument;
}

function runTrace(ctx: Ctx, node: string, bridge: string, flow: string): Promise<OpenFlowRun> {
  return runOfprotoTrace(ctx.b, node, bridge, flow, ctx.ctState);
}

/** `ovs-appctl ofproto/trace BRIDGE FLOW` on a node, every conntrack recirculation resumed with `ctState`. */
export async function runOfprotoTrace(
  b: ClusterBackend,
  node: string,
  bridge: string,
  flow: string,
  ctState: string,
): Promise<OpenFlowRun> {
  const argv = ["ovs-appctl", "ofproto/trace", bridge, flow, ...ctArgs(ctState)];
  const r = await b.execOnNode(node, argv);
  const hop = (outcome: HopOutcome, doc?: OfprotoTraceDocument): Hop => ({
    tool: "ofproto/trace",
    node,
    startsIn: bridge,
    command: argv,
    steps: doc === undefined ? [] : stepsOf(doc),
    outcome,
    output: r.stdout,
    durationMs: r.durationMs,
  });
  if (r.exitCode !== 0 || r.timedOut) {
    const message = r.timedOut
      ? `timed out after ${String(r.durationMs)} ms`
      : r.stderr.trim() || r.stdout.trim() || `exit ${String(r.exitCode)}`;
    return { hop: hop({ kind: "error", message }) };
  }
  try {
    const doc = parseOfprotoTrace(r.stdout);
    return { hop: hop({ kind: "error", message: "unresolved" }, doc), doc };
  } catch (e) {
    if (e instanceof ParseError)
      return { hop: hop({ kind: "error", message: `cannot read the trace: ${e.message}` }) };
    throw e;
  }
}

/**
 * OVN load balancers are select groups (selection_method=dp_hash): without a hash, ofproto/trace
 * stops at hash(),recirc(). Given a non-zero dp_hash in the flow, OVS picks the bucket from it
 * right away (xlate_dp_hash_select_group), so trace again from the start with each dp_hash until
 * the bucket that DNATs to the wanted backend comes up. No live recirculation id is involved: this
 * works on a replica as on the cluster.
 */
async function resolveSelectGroup(
  ctx: Ctx,
  node: string,
  bridge: string,
  flow: string,
  doc: OfprotoTraceDocument,
  want: string | undefined,
): Promise<Required<OpenFlowRun> | undefined> {
  const actions = lastPass(doc)?.datapathActions.actions ?? [];
  if (!actions.some((a) => a.kind === "recirc") || !actions.some((a) => a.kind === "hash")) return undefined;
  let first: Required<OpenFlowRun> | undefined;
  for (let h = 1; h <= 16; h++) {
    const r = await runTrace(ctx, node, bridge, `dp_hash=0x${h.toString(16)},${flow}`);
    if (r.doc === undefined) return first;
    first ??= { hop: r.hop, doc: r.doc };
    if (want === undefined || dnatOf(r.doc) === want) return { hop: r.hop, doc: r.doc };
  }
  return first;
}

const traced = (hop: Hop, outcome: HopOutcome, doc?: OfprotoTraceDocument): TracedHop => ({
  hop: { ...hop, outcome },
  ...(doc === undefined ? {} : { ofproto: doc }),
});

/** The outcome a final hop shows for how the journey ended there. */
function finalOutcome(end: OpenFlowEnd): HopOutcome {
  switch (end.kind) {
    case "delivered":
      return { kind: "output", port: end.ifaceId ?? end.iface, portType: `ovs port ${end.iface}` };
    case "left-cluster":
      return { kind: "output", port: end.iface, portType: `uplink on ${end.bridge ?? "?"}` };
    case "dropped":
      return {
        kind: "dropped",
        where: end.where,
        reason: end.reason,
        ...(end.cookie === undefined ? {} : { cookie: end.cookie }),
      };
    case "controller":
      return {
        kind: "output",
        port: "controller",
        portType: `packet-in to ovn-controller${end.cookie === undefined ? "" : ` (cookie ${end.cookie})`}`,
      };
    case "error":
      return { kind: "error", message: end.message };
  }
}

/** One node's trace (with a load balancer's group resolved): the hops it adds, and the run to go on from. */
async function traceOnNode(
  ctx: Ctx,
  node: string,
  entry: OpenFlowEntry,
  want: string | undefined,
): Promise<{ hops: TracedHop[]; run: OpenFlowRun }> {
  const flow = flowSpec(entry.inPort, entry.packet, entry.tunnel);
  const run = await runTrace(ctx, node, entry.bridge, flow);
  if (run.doc === undefined) return { hops: [], run };
  const resumed = await resolveSelectGroup(ctx, node, entry.bridge, flow, run.doc, want);
  if (resumed === undefined) return { hops: [], run };
  const lb: HopOutcome = {
    kind: "output",
    port: "load balancer select group",
    portType: "traced again with a dp_hash",
  };
  return { hops: [traced(run.hop, lb, run.doc)], run: resumed };
}

/** The logical port a pass's packet is in (its datapath and inport keys, metadata and reg14) and that port's peer. */
function logicalPorts(
  dbs: OvnDatabases,
  f: Readonly<Record<string, string>>,
): { inport: string; peer?: { vni: number; key: number; name: string } } | undefined {
  const sb = dbs.sb;
  const dpKey = Number(f.metadata ?? "NaN");
  const portKey = Number(f.reg14 ?? "NaN");
  const dps = tableRows(sb, "Datapath_Binding");
  const dp = dps.find((r) => numberColumn(r, "tunnel_key") === dpKey);
  if (dp === undefined) return undefined;
  const pbs = tableRows(sb, "Port_Binding");
  const pb = pbs.find(
    (r) => stringColumn(r, "datapath") === dp.uuid && numberColumn(r, "tunnel_key") === portKey,
  );
  const inport = pb === undefined ? undefined : stringColumn(pb, "logical_port");
  if (inport === undefined) return undefined;
  const peer = pbs.find((r) => options(r).peer === inport);
  const peerDp = peer === undefined ? undefined : dps.find((r) => r.uuid === stringColumn(peer, "datapath"));
  const vni = peerDp === undefined ? undefined : numberColumn(peerDp, "tunnel_key");
  const key = peer === undefined ? undefined : numberColumn(peer, "tunnel_key");
  const name = peer === undefined ? undefined : stringColumn(peer, "logical_port");
  return {
    inport,
    ...(vni === undefined || key === undefined || name === undefined ? {} : { peer: { vni, key, name } }),
  };
}

/**
 * Where a reply goes on after conntrack undid a forward SNAT (`u`): ofproto/trace cannot translate, and cannot
 * start in the middle of a node's pipeline without a live recirculation id, so the packet is traced again with the
 * destination conntrack restores. From the node's own entry when no router decided anything on this node before
 * (the TTL is the one it entered with); else from the logical port the packet entered that router on: a geneve
 * arrival into the egress of the switch that delivers to it, which OVN accepts from any chassis (the SB names the
 * port and its peer). Both trace the router on with the very headers it had.
 */
async function reentry(
  ctx: Ctx,
  node: string,
  entry: OpenFlowEntry,
  u: Unsnat,
  databases: ((node: string) => Promise<OvnDatabases>) | undefined,
): Promise<{ entry: OpenFlowEntry; point: UnsnatPoint; how: string } | { error: string }> {
  const f = u.values;
  const e = u.event;
  const restored = (p: OpenFlowPacket): OpenFlowPacket => ({
    ...p,
    dst: e.from.ip,
    ...(e.from.port === undefined || p.dstPort === undefined ? {} : { dstPort: e.from.port }),
  });
  const atRouter = restored({
    ...entry.packet,
    ethSrc: f.dl_src ?? entry.packet.ethSrc,
    ethDst: f.dl_dst ?? entry.packet.ethDst,
    src: f.nw_src ?? f.ipv6_src ?? entry.packet.src,
    ttl: Number(f.nw_ttl ?? entry.packet.ttl),
    ...(f.tp_src === undefined || entry.packet.srcPort === undefined ? {} : { srcPort: Number(f.tp_src) }),
  });
  const ports = await (databases?.(node) ?? Promise.reject(new Error("no databases")))
    .then((dbs) => logicalPorts(dbs, f))
    .catch(() => undefined);
  const point: UnsnatPoint = {
    node,
    to: e.to,
    from: e.from,
    ...(ports === undefined ? {} : { inport: ports.inport }),
    packet: atRouter,
  };
  if (atRouter.ttl === entry.packet.ttl)
    return {
      entry: { ...entry, packet: restored(entry.packet) },
      point,
      how: "from where it entered this node",
    };
  const peer = ports?.peer;
  if (ports === undefined || peer === undefined)
    return {
      error: `${node}: conntrack undoes the SNAT to ${hostPort(e.to.ip, e.to.port)} after a router on this node; the SB does not name the port it entered the next router on, so the trace cannot go on from there`,
    };
  const view = await nodeView(ctx.b, ctx.views, node);
  const local = [...view.encapNodes.entries()].find(([, n]) => n === node)?.[0];
  const tunnel = view.interfaces.find((i) => i.type === "geneve" && i.remoteIp !== undefined);
  if (local === undefined || tunnel?.remoteIp === undefined)
    return {
      error: `${node}: conntrack undoes the SNAT to ${hostPort(e.to.ip, e.to.port)} after a router on this node, and the node has no tunnel to trace the rest from ${ports.inport}`,
    };
  return {
    entry: {
      bridge: "br-int",
      inPort: tunnel.name,
      tunnel: tunnelFields(peer.vni, tunnel.remoteIp, local, `0x${peer.key.toString(16)}`),
      packet: atRouter,
    },
    point,
    how: `from ${ports.inport}, through ${peer.name}`,
  };
}

/**
 * A packet that leaves a node's uplink addressed to another node of the cluster (its encap IP, which ovn-kubernetes
 * takes from the node's primary address) arrives at that node's uplink: traced there on its gateway bridge (the
 * bridge of its uplink, patched to br-int). Followed only when that node hands it to OVN (a NodePort, a reply to an
 * SNATed connection): what its host gets instead, no trace follows, and the packet has left the cluster.
 */
async function acrossTheUnderlay(
  ctx: Ctx,
  node: string,
  end: Extract<OpenFlowEnd, { kind: "left-cluster" }>,
  doc: OfprotoTraceDocument,
  packet: OpenFlowPacket,
  want: string | undefined,
): Promise<
  { node: string; entry: OpenFlowEntry; here: { hops: TracedHop[]; run: OpenFlowRun } } | undefined
> {
  const pass = lastPass(doc);
  const to = (await nodeView(ctx.b, ctx.views, node)).encapNodes.get(end.packet.dstIp);
  if (pass === undefined || to === undefined || to === node) return undefined;
  const view = await nodeView(ctx.b, ctx.views, to).catch(() => undefined);
  const patched = new Set(
    (view?.interfaces ?? []).filter((i) => i.type === "patch" && i.bridge !== "br-int").map((i) => i.bridge),
  );
  const uplink = view?.interfaces.find(
    (i) => i.bridge !== undefined && patched.has(i.bridge) && i.type !== "internal" && i.type !== "patch",
  );
  if (uplink?.bridge === undefined) return undefined;
  const entry: OpenFlowEntry = {
    bridge: uplink.bridge,
    inPort: uplink.name,
    tunnel: [],
    packet: packetLeaving(pass, packet),
  };
  const here = await traceOnNode(ctx, to, entry, want);
  const intoOvn =
    here.run.doc !== undefined &&
    stepsOf(here.run.doc).some((s) => s.kind === "openflow" && s.bridge === "br-int");
  return intoOvn ? { node: to, entry, here } : undefined;
}

/** Follows one packet through OpenFlow on every node it visits. */
export async function traceOpenFlow(
  b: ClusterBackend,
  req: OpenFlowTraceRequest,
  views: NodeViews = new Map(),
): Promise<OpenFlowTrace> {
  const ctx: Ctx = { b, views, ctState: req.ctState };
  const hops: TracedHop[] = [];
  let node = req.node;
  let entry: OpenFlowEntry = {
    bridge: req.bridge ?? "br-int",
    inPort: req.inPort,
    tunnel: [],
    packet: req.packet,
  };
  let unsnat: UnsnatPoint | undefined;
  const undone = new Set<NatEvent>();
  const result = (end: OpenFlowEnd): OpenFlowTrace => ({
    hops,
    end,
    ...(unsnat === undefined ? {} : { unsnat }),
  });
  const fail = (at: string, message: string, hop?: OpenFlowRun): OpenFlowTrace => {
    if (hop !== undefined) hops.push(traced(hop.hop, { kind: "error", message }, hop.doc));
    return result({ kind: "error", node: at, message });
  };
  const maxHops = req.maxHops ?? 6;
  let ahead: { hops: TracedHop[]; run: OpenFlowRun } | undefined;
  for (let n = 0; n < maxHops; n++) {
    const here = ahead ?? (await traceOnNode(ctx, node, entry, req.wantBackend));
    ahead = undefined;
    hops.push(...here.hops);
    const { hop, doc } = here.run;
    if (doc === undefined) {
      hops.push({ hop });
      return result({
        kind: "error",
        node,
        message: hop.outcome.kind === "error" ? hop.outcome.message : "trace failed",
      });
    }
    const u = unsnatIn(
      doc,
      node,
      (req.undo ?? []).filter((e) => !undone.has(e)),
    );
    if (u !== undefined) {
      undone.add(u.event);
      const re = await reentry(ctx, node, entry, u, req.databases);
      if ("error" in re) return fail(node, re.error, here.run);
      unsnat = re.point;
      const what = `conntrack un-SNAT ${hostPort(u.event.to.ip, u.event.to.port)} -> ${hostPort(u.event.from.ip, u.event.from.port)}`;
      hops.push(traced(hop, { kind: "output", port: what, portType: `traced again ${re.how}` }, doc));
      entry = re.entry;
      n--; // the same node again
      continue;
    }
    const c = crossingOf(doc, await nodeView(b, views, node), entry.packet);
    if (c.kind === "error") return fail(node, c.message, here.run);
    if (c.kind === "end") {
      const over =
        c.end.kind === "left-cluster"
          ? await acrossTheUnderlay(ctx, node, c.end, doc, entry.packet, req.wantBackend)
          : undefined;
      if (c.end.kind === "left-cluster" && over !== undefined) {
        const out = `uplink on ${c.end.bridge ?? "?"}, over the underlay to ${over.node}`;
        hops.push(traced(hop, { kind: "output", port: c.end.iface, portType: out }, doc));
        ({ node, entry, here: ahead } = over);
        continue;
      }
      hops.push(traced(hop, finalOutcome(c.end), doc));
      return result(c.end);
    }
    hops.push(traced(hop, { kind: "tunnel", toNode: c.toNode, vni: c.vni }, doc));
    const next = entryOf(c, await nodeView(b, views, c.toNode));
    if ("error" in next) return fail(c.toNode, next.error);
    ({ entry, node } = { entry: next.entry, node: c.toNode });
  }
  return fail(node, `still travelling after ${String(maxHops)} hops`);
}
