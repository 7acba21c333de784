import { hostPort } from "../net/ip.js";
import type { ClusterBackend } from "../cluster/backend.js";
import type {
  DatapathAction,
  DatapathTunnel,
  OfprotoTraceDocument,
  TracePass,
} from "../model/ofproto-trace.js";
import type { Family, Hop, HopOutcome, L4Protocol, Step } from "../model/report.js";
import { lastTableStep, parseOfprotoTrace, tableSteps } from "../parsers/ofproto-trace.js";
import { loadNodeView, type NodeInterface, type NodeView } from "./node-view.js";
import { ParseError } from "../errors.js";

/**
 * ofproto/trace on every node the packet visits: from the source pod's OVS port, across geneve
 * tunnels (the next node found by the tunnel destination, its tunnel port by remote_ip, the
 * packet rebuilt from the final flow plus the header rewrites before the tunnel), until the packet
 * is delivered to a port, dropped, or leaves through the node's uplink.
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

export interface OpenFlowTraceRequest {
  readonly node: string;
  /** OVS interface the packet enters br-int on (the pod's veth, or ovn-k8s-mp0). */
  readonly inPort: string;
  readonly packet: OpenFlowPacket;
  /** Conntrack state to assume at each ct() recirculation ("trk,new" first packet, "trk,est,rpl" reply). */
  readonly ctState: string;
  /** A service backend the LB must pick ("ip:port" as in nat(dst=...)), to resolve dp_hash groups. */
  readonly wantBackend?: string;
  readonly maxHops?: number;
}

export type OpenFlowEnd =
  | { readonly kind: "delivered"; readonly node: string; readonly iface: string; readonly ifaceId?: string }
  | { readonly kind: "left-cluster"; readonly node: string; readonly iface: string; readonly snatIp?: string }
  | {
      readonly kind: "dropped";
      readonly node: string;
      readonly where: string;
      readonly reason: string;
      /** Cookie of the OpenFlow step that dropped: the first 32 bits of the logical flow's uuid. */
      readonly cookie?: string;
    }
  | { readonly kind: "error"; readonly node: string; readonly message: string };

export interface OpenFlowTrace {
  readonly hops: readonly Hop[];
  readonly end: OpenFlowEnd;
}

const CT_REPEAT = 8;

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

function ctArgs(ctState: string): string[] {
  return Array.from({ length: CT_REPEAT }, () => ["--ct-next", ctState]).flat();
}

const lastPass = (doc: OfprotoTraceDocument): TracePass | undefined => doc.passes.at(-1);

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
  const f = (pass.finalFlow ?? pass.flow).values;
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

function stepsOf(doc: OfprotoTraceDocument): Step[] {
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
function dnatOf(doc: OfprotoTraceDocument): string | undefined {
  for (const pass of doc.passes) {
    for (const a of pass.datapathActions.actions) {
      if (a.kind === "ct" && a.nat?.direction === "dst" && a.nat.addr !== null) {
        return hostPort(a.nat.addr, a.nat.port);
      }
    }
  }
  return undefined;
}

interface Ctx {
  readonly b: ClusterBackend;
  readonly views: NodeViews;
}

/** Node views shared by every trace of a run: each node's OVS is read once. */
export type NodeViews = Map<string, Promise<NodeView>>;

export function nodeView(b: ClusterBackend, views: NodeViews, node: string): Promise<NodeView> {
  return view({ b, views }, node);
}

function view(ctx: Ctx, node: string): Promise<NodeView> {
  let v = ctx.views.get(node);
  if (v === undefined) {
    v = loadNodeView(ctx.b, node);
    ctx.views.set(node, v);
  }
  return v;
}

async function runTrace(
  ctx: Ctx,
  node: string,
  flow: string,
  ctState: string,
): Promise<{ hop: Hop; doc?: OfprotoTraceDocument }> {
  const argv = ["ovs-appctl", "ofproto/trace", "br-int", flow, ...ctArgs(ctState)];
  const r = await ctx.b.execOnNode(node, argv);
  const hop = (outcome: HopOutcome, steps: Step[] = []): Hop => ({
    tool: "ofproto/trace",
    node,
    startsIn: "br-int",
    command: argv,
    steps,
    outcome,
    output: r.stdout,
    durationMs: r.durationMs,
  });
  if (r.exitCode !== 0 || r.timedOut) {
    const message = r.timedOut
      ? `timed out after ${r.durationMs} ms`
      : r.stderr.trim() || r.stdout.trim() || `exit ${r.exitCode}`;
    return { hop: hop({ kind: "error", message }) };
  }
  try {
    const doc = parseOfprotoTrace(r.stdout);
    return { hop: hop({ kind: "error", message: "unresolved" }, stepsOf(doc)), doc };
  } catch (e) {
    if (e instanceof ParseError)
      return { hop: hop({ kind: "error", message: `cannot read the trace: ${e.message}` }) };
    throw e;
  }
}

const withOutcome = (h: Hop, outcome: HopOutcome): Hop => ({ ...h, outcome });

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
  flow: string,
  doc: OfprotoTraceDocument,
  ctState: string,
  want: string | undefined,
): Promise<{ hop: Hop; doc: OfprotoTraceDocument } | undefined> {
  const actions = lastPass(doc)?.datapathActions.actions ?? [];
  if (!actions.some((a) => a.kind === "recirc") || !actions.some((a) => a.kind === "hash")) return undefined;
  let first: { hop: Hop; doc: OfprotoTraceDocument } | undefined;
  for (let h = 1; h <= 16; h++) {
    const r = await runTrace(ctx, node, `dp_hash=0x${h.toString(16)},${flow}`, ctState);
    if (r.doc === undefined) return first;
    first ??= { hop: r.hop, doc: r.doc };
    if (want === undefined || dnatOf(r.doc) === want) return { hop: r.hop, doc: r.doc };
  }
  return first;
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

/** Follows one packet through OpenFlow on every node it visits. */
export async function traceOpenFlow(
  b: ClusterBackend,
  req: OpenFlowTraceRequest,
  views: NodeViews = new Map(),
): Promise<OpenFlowTrace> {
  const ctx: Ctx = { b, views };
  const hops: Hop[] = [];
  let node = req.node;
  let flow = flowSpec(req.inPort, req.packet);
  let packet = req.packet;
  for (let n = 0; n < (req.maxHops ?? 6); n++) {
    let { hop, doc } = await runTrace(ctx, node, flow, req.ctState);
    if (doc === undefined) {
      hops.push(hop);
      return {
        hops,
        end: {
          kind: "error",
          node,
          message: hop.outcome.kind === "error" ? hop.outcome.message : "trace failed",
        },
      };
    }
    const resumed = await resolveSelectGroup(ctx, node, flow, doc, req.ctState, req.wantBackend);
    if (resumed !== undefined) {
      hops.push(
        withOutcome(hop, {
          kind: "output",
          port: "load balancer select group",
          portType: "traced again with a dp_hash",
        }),
      );
      ({ hop, doc } = resumed);
    }
    const pass = lastPass(doc);
    const actions = pass?.datapathActions.actions ?? [];
    const v = await view(ctx, node);
    const tun = tunnelOfActions(actions);
    if (pass !== undefined && tun?.tunnel.dst != null) {
      const dst = tun.tunnel.dst;
      const next = v.encapNodes.get(dst);
      const vni = Number(tun.tunnel.vni ?? "0");
      if (next === undefined) {
        hops.push(
          withOutcome(hop, {
            kind: "error",
            message: `tunnel to ${dst}: no chassis with that encap IP in ${node}'s SB`,
          }),
        );
        return { hops, end: { kind: "error", node, message: `unknown tunnel destination ${dst}` } };
      }
      hops.push(withOutcome(hop, { kind: "tunnel", toNode: next, vni }));
      const nv = await view(ctx, next);
      const src = tun.tunnel.src ?? [...v.encapNodes.entries()].find(([, h]) => h === node)?.[0];
      const port = nv.interfaces.find((i) => i.type === "geneve" && i.remoteIp === src);
      if (port === undefined || src === undefined) {
        return {
          hops,
          end: { kind: "error", node: next, message: `no geneve port towards ${src ?? "?"} on ${next}` },
        };
      }
      const opt = tun.tunnel.geneveOptions.find((o) => o.class === "0x102" && o.type === "0x80");
      packet = packetAfter(pass, tun.before, packet);
      flow = flowSpec(port.name, packet, [
        `tun_id=0x${vni.toString(16)}`,
        `tun_src=${src}`,
        `tun_dst=${dst}`,
        ...(opt === undefined ? [] : [`tun_metadata0=${opt.value}`]),
      ]);
      node = next;
      continue;
    }
    const outs = outputPorts(actions)
      .map((p) =>
        v.interfaces.find((i: NodeInterface) => (typeof p === "number" ? i.odpPort === p : i.name === p)),
      )
      .filter((i): i is NodeInterface => i !== undefined);
    const delivered = outs.find((i) => i.bridge === "br-int" && i.ifaceId !== undefined);
    if (delivered !== undefined) {
      hops.push(
        withOutcome(hop, {
          kind: "output",
          port: delivered.ifaceId ?? delivered.name,
          portType: `ovs port ${delivered.name}`,
        }),
      );
      return {
        hops,
        end: {
          kind: "delivered",
          node,
          iface: delivered.name,
          ...(delivered.ifaceId === undefined ? {} : { ifaceId: delivered.ifaceId }),
        },
      };
    }
    const uplink =
      outs.find((i) => i.bridge !== "br-int" && i.type !== "internal") ??
      outs.find((i) => i.bridge !== "br-int");
    if (uplink !== undefined) {
      const snat = doc.passes.map((p) => snatOf(p.datapathActions.actions)).find((x) => x !== undefined);
      hops.push(
        withOutcome(hop, {
          kind: "output",
          port: uplink.name,
          portType: `uplink on ${uplink.bridge ?? "?"}`,
        }),
      );
      return {
        hops,
        end: {
          kind: "left-cluster",
          node,
          iface: uplink.name,
          ...(snat === undefined ? {} : { snatIp: snat }),
        },
      };
    }
    const drop = describeDrop(doc);
    hops.push(withOutcome(hop, { kind: "dropped", ...drop }));
    return { hops, end: { kind: "dropped", node, ...drop } };
  }
  return { hops, end: { kind: "error", node, message: `still travelling after ${req.maxHops ?? 6} hops` } };
}
