import type { ClusterBackend } from "../cluster/backend.js";
import { ParseError } from "../errors.js";
import type { OfprotoTraceDocument } from "../model/ofproto-trace.js";
import type { Hop, HopOutcome } from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { parseOfprotoTrace } from "../parsers/ofproto-trace.js";
import { loadNodeView, type NodeView } from "./node-view.js";
import {
  crossingOf,
  dnatOf,
  entryFlow,
  flowSpec,
  lastPass,
  stepsOf,
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
  /** OVS interface the packet enters br-int on (the pod's veth, or ovn-k8s-mp0). */
  readonly inPort: string;
  readonly packet: OpenFlowPacket;
  /** Conntrack state to assume at each ct() recirculation ("trk,new" first packet, "trk,est,rpl" reply). */
  readonly ctState: string;
  /** A service backend the LB must pick ("ip:port" as in nat(dst=...)), to resolve dp_hash groups. */
  readonly wantBackend?: string;
  readonly maxHops?: number;
}

export interface OpenFlowTrace {
  readonly hops: readonly TracedHop[];
  readonly end: OpenFlowEnd;
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

interface Run {
  readonly hop: Hop;
  readonly doc?: OfprotoTraceDocument;
}

async function runTrace(ctx: Ctx, node: string, flow: string): Promise<Run> {
  const argv = ["ovs-appctl", "ofproto/trace", "br-int", flow, ...ctArgs(ctx.ctState)];
  const r = await ctx.b.execOnNode(node, argv);
  const hop = (outcome: HopOutcome, doc?: OfprotoTraceDocument): Hop => ({
    tool: "ofproto/trace",
    node,
    startsIn: "br-int",
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
  flow: string,
  doc: OfprotoTraceDocument,
  want: string | undefined,
): Promise<Required<Run> | undefined> {
  const actions = lastPass(doc)?.datapathActions.actions ?? [];
  if (!actions.some((a) => a.kind === "recirc") || !actions.some((a) => a.kind === "hash")) return undefined;
  let first: Required<Run> | undefined;
  for (let h = 1; h <= 16; h++) {
    const r = await runTrace(ctx, node, `dp_hash=0x${h.toString(16)},${flow}`);
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
  flow: string,
  want: string | undefined,
): Promise<{ hops: TracedHop[]; run: Run }> {
  const run = await runTrace(ctx, node, flow);
  if (run.doc === undefined) return { hops: [], run };
  const resumed = await resolveSelectGroup(ctx, node, flow, run.doc, want);
  if (resumed === undefined) return { hops: [], run };
  const lb: HopOutcome = {
    kind: "output",
    port: "load balancer select group",
    portType: "traced again with a dp_hash",
  };
  return { hops: [traced(run.hop, lb, run.doc)], run: resumed };
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
  let flow = flowSpec(req.inPort, req.packet);
  let packet = req.packet;
  const fail = (at: string, message: string, hop?: Run): OpenFlowTrace => {
    if (hop !== undefined) hops.push(traced(hop.hop, { kind: "error", message }, hop.doc));
    return { hops, end: { kind: "error", node: at, message } };
  };
  for (let n = 0; n < (req.maxHops ?? 6); n++) {
    const here = await traceOnNode(ctx, node, flow, req.wantBackend);
    hops.push(...here.hops);
    const { hop, doc } = here.run;
    if (doc === undefined) {
      hops.push({ hop });
      return {
        hops,
        end: {
          kind: "error",
          node,
          message: hop.outcome.kind === "error" ? hop.outcome.message : "trace failed",
        },
      };
    }
    const c = crossingOf(doc, await nodeView(b, views, node), packet);
    if (c.kind === "error") return fail(node, c.message, here.run);
    if (c.kind === "end") {
      hops.push(traced(hop, finalOutcome(c.end), doc));
      return { hops, end: c.end };
    }
    hops.push(traced(hop, { kind: "tunnel", toNode: c.toNode, vni: c.vni }, doc));
    const entry = entryFlow(c, await nodeView(b, views, c.toNode));
    if ("error" in entry) return fail(c.toNode, entry.error);
    ({ flow, packet, node } = { flow: entry.flow, packet: c.packet, node: c.toNode });
  }
  return fail(node, `still travelling after ${String(req.maxHops ?? 6)} hops`);
}
