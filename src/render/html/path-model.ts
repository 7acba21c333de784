import type { Step, SummaryEndpoint, TunnelSummary, Verdict } from "../../model/report.js";
import type { TraceRunDirection, TraceRunHop, TraceRunReport } from "../../model/trace-run.js";
import { hostPort } from "../../net/ip.js";
import { arrivalText, objectRef } from "../verdict-text.js";

/**
 * One direction of a trace as a path: the source, every logical datapath the packet crossed on each node (from
 * ovn-trace, split by node where it crossed a tunnel), the tunnels (VNI), the NATs on the way and the end (the
 * destination, the exit, or where and why it was dropped). Pure: what the HTML report draws and lists.
 */

export type LogicalStage = Extract<Step, { kind: "logical-stage" }>;

/** The logical stages one datapath ran on one node, in order. */
export interface Segment {
  readonly node: string;
  readonly datapath: string;
  readonly pipelines: readonly ("ingress" | "egress")[];
  readonly stages: readonly LogicalStage[];
}

export type ElementKind =
  | "pod"
  | "host"
  | "external"
  | "service"
  | "switch"
  | "router"
  | "openflow"
  | "exit"
  | "dropped"
  | "rejected"
  | "unknown";

export interface PathElement {
  readonly id: string;
  readonly kind: ElementKind;
  /** Its name ("pod default/client", "ovn_cluster_router", "dropped"). */
  readonly title: string;
  /** What it is and what happened there, one line each ("cluster router", "ingress → egress"). */
  readonly lines: readonly string[];
  /** The Kubernetes node it is on (drawn inside that node's box); none for what is outside the cluster. */
  readonly node?: string;
}

export interface EdgeLabel {
  readonly kind: "nat" | "tunnel";
  readonly text: string;
}

export interface PathEdge {
  readonly from: string;
  readonly to: string;
  readonly tunnel: boolean;
  readonly labels: readonly EdgeLabel[];
}

export interface PathModel {
  /** In the order the packet meets them. */
  readonly elements: readonly PathElement[];
  readonly edges: readonly PathEdge[];
  /** The Kubernetes nodes, in the order the packet meets them. */
  readonly nodes: readonly string[];
  readonly segments: readonly Segment[];
}

interface Part {
  readonly node: string;
  readonly datapath: string;
  readonly pipeline: "ingress" | "egress";
  readonly stages: LogicalStage[];
}

const stagesOf = (h: TraceRunHop): LogicalStage[] =>
  h.steps.filter((s): s is LogicalStage => s.kind === "logical-stage");

/** A hop's stages, cut where the datapath or the pipeline changes. */
function partsOf(h: TraceRunHop): Part[] {
  const parts: Part[] = [];
  for (const s of stagesOf(h)) {
    const last = parts.at(-1);
    if (last?.datapath === s.datapath && last.pipeline === s.pipeline) last.stages.push(s);
    else parts.push({ node: h.node, datapath: s.datapath, pipeline: s.pipeline, stages: [s] });
  }
  return parts;
}

/** The tunnels of a direction: its summary's, else the ones its ofproto/trace hops ended in. */
export function tunnelsOf(d: TraceRunDirection): readonly TunnelSummary[] {
  if (d.summary !== undefined) return d.summary.tunnels;
  return d.hops.flatMap((h) =>
    h.tool === "ofproto/trace" && h.outcome.kind === "tunnel"
      ? [
          {
            fromNode: h.node,
            toNode: h.outcome.toNode,
            vni: h.outcome.vni,
            vniHex: `0x${h.outcome.vni.toString(16)}`,
          },
        ]
      : [],
  );
}

/**
 * Where a tunnel inside one ovn-trace run (one zone that spans nodes: the central shape) cuts its stages. OVN
 * runs a datapath's ingress pipeline on the sending chassis and its egress on the one of the output port,
 * carrying the packet in that datapath's tunnel key (the VNI): the cut is before the egress of the tunnel's
 * datapath (named by the summary when the databases were read, else the last datapath of the run).
 */
function cutIndex(parts: readonly Part[], from: number, t: TunnelSummary): number {
  const dp = t.datapath ?? parts.at(-1)?.datapath;
  for (let i = Math.max(from, 1); i < parts.length; i++)
    if (parts[i]?.datapath === dp && parts[i]?.pipeline === "egress") return i;
  return -1;
}

interface Attributed {
  readonly parts: readonly Part[];
  /** The tunnel crossed after part i. */
  readonly tunnelAfter: ReadonlyMap<number, TunnelSummary>;
}

/** Every logical stage of the direction with the node it ran on, and where the tunnels are. */
function attribute(d: TraceRunDirection): Attributed {
  const hops = d.hops.filter((h) => h.tool === "ovn-trace");
  const tunnels = tunnelsOf(d);
  const parts: Part[] = [];
  const tunnelAfter = new Map<number, TunnelSummary>();
  let t = 0;
  hops.forEach((hop, i) => {
    const prev = parts.at(-1);
    if (prev !== undefined && prev.node !== hop.node) {
      const tunnel = tunnels[t];
      if (tunnel?.fromNode === prev.node && tunnel.toNode === hop.node) {
        tunnelAfter.set(parts.length - 1, tunnel);
        t++;
      }
    }
    const own = partsOf(hop);
    const next = hops[i + 1];
    let node = hop.node;
    let cursor = 0;
    const placed: Part[] = [];
    for (;;) {
      const tunnel = tunnels[t];
      if (tunnel?.fromNode !== node || (next !== undefined && tunnel.toNode === next.node)) break;
      const cut = cutIndex(own, cursor, tunnel);
      if (cut < 0) break;
      placed.push(...own.slice(cursor, cut).map((p) => ({ ...p, node })));
      tunnelAfter.set(parts.length + placed.length - 1, tunnel);
      node = tunnel.toNode;
      cursor = cut;
      t++;
    }
    placed.push(...own.slice(cursor).map((p) => ({ ...p, node })));
    parts.push(...placed);
  });
  return { parts, tunnelAfter };
}

/** ovn-kubernetes' names of its datapaths. */
export function datapathRole(name: string, router: boolean, nodes: ReadonlySet<string>): string {
  if (name === "ovn_cluster_router") return "cluster router";
  if (name === "join") return "join switch";
  if (name === "transit_switch") return "transit switch";
  const gr = /^GR_(.+)$/.exec(name);
  if (gr !== null) return `gateway router of ${gr[1] ?? ""}`;
  const ext = /^ext_(.+)$/.exec(name);
  if (ext !== null) return `external switch of ${ext[1] ?? ""}`;
  if (nodes.has(name)) return "node switch";
  return router ? "logical router" : "logical switch";
}

const isRouter = (s: Segment): boolean => s.stages.some((x) => x.stage.startsWith("lr_"));

function endpointElement(id: string, e: SummaryEndpoint, fallbackNode?: string): PathElement {
  const ip = e.ip === undefined ? [] : [e.ip];
  switch (e.kind) {
    case "pod":
      return {
        id,
        kind: "pod",
        title: `pod ${e.namespace ?? ""}/${e.name ?? ""}`,
        lines: ip,
        ...(e.node === undefined ? {} : { node: e.node }),
      };
    case "node":
      return {
        id,
        kind: "host",
        title: `host of node ${e.name ?? ""}`,
        lines: ip,
        ...(e.name === undefined ? {} : { node: e.name }),
      };
    case "service":
      return { id, kind: "service", title: `Service ${e.namespace ?? ""}/${e.name ?? ""}`, lines: ip };
    case "external":
      return {
        id,
        kind: "external",
        title: `external ${e.ip ?? ""}`,
        lines: fallbackNode === undefined ? [] : [`enters on ${fallbackNode}`],
      };
  }
}

/** Where the packet started, when the direction has no summary. */
function fallbackSource(r: TraceRunReport, d: TraceRunDirection): SummaryEndpoint {
  const e =
    d.packet.direction === "forward"
      ? r.src
      : r.forward.verdict.kind === "delivered"
        ? r.forward.verdict.to
        : r.dst;
  if (e.kind === "pod") return { kind: "pod", namespace: e.namespace, name: e.name, node: e.node, ip: e.ip };
  if (e.kind === "node") return { kind: "node", name: e.name, ip: e.ip };
  return { kind: e.kind, ip: d.packet.srcIp };
}

const objectsText = (v: {
  readonly objects?: readonly { kind: string; namespace?: string; name: string }[];
}): string[] =>
  v.objects === undefined || v.objects.length === 0 ? [] : [v.objects.map(objectRef).join(", ")];

/** The end of the path: the destination, the exit and the address outside, or the drop. */
function endElements(
  v: Verdict,
  d: TraceRunDirection,
  id: (n: number) => string,
  lastNode?: string,
): PathElement[] {
  switch (v.kind) {
    case "delivered": {
      const to = v.to;
      const ip = v.dstIp ?? ("ip" in to ? to.ip : "");
      const title =
        to.kind === "pod"
          ? `pod ${to.namespace}/${to.name}`
          : to.kind === "node"
            ? `host of node ${to.name}`
            : v.port;
      return [
        {
          id: id(0),
          kind: to.kind === "pod" ? "pod" : "host",
          title,
          lines: ["delivered", ...(ip === "" ? [] : [ip]), `port ${v.port}`],
          node: v.node,
        },
      ];
    }
    case "left-cluster":
      return [
        {
          id: id(0),
          kind: "exit",
          title: `exit ${v.via}`,
          lines: [`left the cluster on ${v.node}`, ...(v.gateway === undefined ? [] : [v.gateway])],
          node: v.node,
        },
        { id: id(1), kind: "external", title: `external ${v.dstIp ?? d.packet.dstIp}`, lines: [] },
      ];
    case "dropped":
      return [
        {
          id: id(0),
          kind: "dropped",
          title: "dropped",
          lines: [v.explanation ?? v.reason, `at ${v.where}`, ...objectsText(v)],
          node: v.node,
        },
      ];
    case "rejected":
      return [
        {
          id: id(0),
          kind: "rejected",
          title: "rejected",
          lines: [
            v.explanation ?? v.reason,
            ...objectsText(v),
            ...(v.srcIp === undefined && v.dstIp === undefined ? [] : [`answer ${arrivalText(v)}`]),
          ],
          node: v.node,
        },
      ];
    case "unknown":
      return [
        {
          id: id(0),
          kind: "unknown",
          title: "unknown",
          lines: [v.reason],
          ...(lastNode === undefined ? {} : { node: lastNode }),
        },
      ];
  }
}

/** The logical datapath a dropped verdict names ("... [logical: ovn-worker2 ls_out_acl priority 2000]"). */
function droppedIn(v: Verdict, d: TraceRunDirection): string | undefined {
  if (v.kind !== "dropped") return undefined;
  const logical = /\[logical: (\S+) /.exec(v.where)?.[1];
  if (logical !== undefined) return logical;
  for (const h of d.hops)
    if (h.tool === "ovn-trace" && h.outcome.kind === "dropped") return h.outcome.where.split(" ")[0];
  return undefined;
}

/** The first segment (index) one of whose stages does what `test` says, or -1. */
const segmentWhere = (segments: readonly Segment[], test: (s: LogicalStage) => boolean): number =>
  segments.findIndex((g) => g.stages.some(test));

const actionText = (s: LogicalStage): string => s.actions.join(" ");

/** The NATs of the direction, each with the segment after which it applies (-1: just before the end). */
function natLabels(
  d: TraceRunDirection,
  segments: readonly Segment[],
): { after: number; label: EdgeLabel }[] {
  const v = d.verdict;
  const p = d.packet;
  const out: { after: number; label: EdgeLabel }[] = [];
  const sb = d.summary?.serviceBackend;
  if (v.kind !== "delivered" && v.kind !== "left-cluster") {
    if (sb !== undefined && v.kind !== "rejected")
      out.push({
        after: segmentWhere(
          segments,
          (s) => /ct_lb|ct_dnat/.test(actionText(s)) && (s.match ?? "").includes(p.dstIp),
        ),
        label: { kind: "nat", text: `DNAT ${sb.vip} → ${sb.backend} (${objectRef(sb.service)})` },
      });
    return out;
  }
  const dstBefore = hostPort(p.dstIp, p.dstPort);
  const dstAfter = hostPort(v.dstIp ?? p.dstIp, v.dstPort ?? p.dstPort);
  if (sb !== undefined || dstBefore !== dstAfter) {
    let after = segmentWhere(
      segments,
      (s) => /ct_lb|ct_dnat/.test(actionText(s)) && (s.match ?? "").includes(p.dstIp),
    );
    if (after < 0)
      after = segmentWhere(segments, (s) => /ct_lb_mark\(backends|ct_dnat\(/.test(actionText(s)));
    const text =
      sb === undefined
        ? `DNAT ${dstBefore} → ${dstAfter}`
        : `DNAT ${sb.vip} → ${sb.backend} (${objectRef(sb.service)})`;
    out.push({ after, label: { kind: "nat", text } });
  }
  const srcBefore = hostPort(p.srcIp, p.srcPort);
  const srcAfter = hostPort(v.srcIp ?? p.srcIp, v.srcPort ?? p.srcPort);
  if (srcBefore !== srcAfter) {
    const newIp = v.srcIp ?? "";
    const after = segmentWhere(segments, (s) => actionText(s).includes(`ct_snat(${newIp}`));
    let text: string;
    if (v.kind === "left-cluster")
      text = `SNAT ${srcBefore} → ${srcAfter}${v.snat === undefined ? "" : ` (${v.snat})`}`;
    else if (v.hairpin !== undefined)
      text = `hairpin SNAT ${srcBefore} → ${srcAfter}${v.hairpin.loadBalancer === undefined ? "" : ` (hairpin_snat_ip of ${v.hairpin.loadBalancer})`}`;
    else if (p.direction === "reply" && after < 0)
      text = `un-DNAT ${srcBefore} → ${srcAfter} (conntrack: the reply comes from the address the client sent to)`;
    else text = `SNAT ${srcBefore} → ${srcAfter}`;
    out.push({ after, label: { kind: "nat", text } });
  }
  return out;
}

/** The Kubernetes node names a report mentions (to tell node switches by name). */
function nodeNames(r: TraceRunReport, d: TraceRunDirection): Set<string> {
  const names = new Set<string>(d.hops.map((h) => h.node));
  for (const e of [r.src, r.dst]) if (e.kind === "pod") names.add(e.node);
  for (const t of tunnelsOf(d)) names.add(t.fromNode).add(t.toNode);
  if (d.verdict.kind !== "unknown") names.add(d.verdict.node);
  return names;
}

/** The path of one direction of a report; `prefix` makes its ids unique in the page. */
export function buildPath(r: TraceRunReport, d: TraceRunDirection, prefix: string): PathModel {
  const { parts, tunnelAfter } = attribute(d);
  // consecutive parts of one datapath on one node are one segment (its ingress and egress)
  const segments: Segment[] = [];
  const segmentTunnel = new Map<number, TunnelSummary>();
  parts.forEach((p, i) => {
    const last = segments.at(-1);
    if (last?.datapath === p.datapath && last.node === p.node && !segmentTunnel.has(segments.length - 1))
      segments[segments.length - 1] = {
        ...last,
        pipelines: [...last.pipelines, p.pipeline],
        stages: [...last.stages, ...p.stages],
      };
    else
      segments.push({ node: p.node, datapath: p.datapath, pipelines: [p.pipeline], stages: [...p.stages] });
    const t = tunnelAfter.get(i);
    if (t !== undefined) segmentTunnel.set(segments.length - 1, t);
  });
  // a drop ends the path where it happened
  const dropDp = droppedIn(d.verdict, d);
  if (dropDp !== undefined) {
    const v = d.verdict;
    let at = -1;
    segments.forEach((g, i) => {
      if (g.datapath === dropDp && (v.kind !== "dropped" || g.node === v.node)) at = i;
    });
    if (at >= 0) segments.splice(at + 1);
  }

  let n = 0;
  const id = (): string => `${prefix}-e${String(n++)}`;
  const names = nodeNames(r, d);
  const firstNode = segments[0]?.node ?? d.hops[0]?.node;
  const source = endpointElement(id(), d.summary?.source ?? fallbackSource(r, d), firstNode);
  const elements: PathElement[] = [
    source.kind === "external" || source.node !== undefined
      ? source
      : { ...source, ...(firstNode === undefined ? {} : { node: firstNode }) },
  ];
  const segmentIds: string[] = [];
  for (const g of segments) {
    const e: PathElement = {
      id: id(),
      kind: isRouter(g) ? "router" : "switch",
      title: g.datapath,
      lines: [datapathRole(g.datapath, isRouter(g), names), g.pipelines.join(" → ")],
      node: g.node,
    };
    segmentIds.push(e.id);
    elements.push(e);
  }
  const tunnelHops = new Map<number, TunnelSummary>(segmentTunnel);
  if (segments.length === 0) {
    // no logical stages (ovn-trace did not run): the nodes whose OpenFlow the packet crossed
    for (const h of d.hops.filter((x) => x.tool === "ofproto/trace")) {
      const last = elements.at(-1);
      if (last?.kind === "openflow" && last.node === h.node) continue;
      elements.push({
        id: id(),
        kind: "openflow",
        title: `${h.startsIn} on ${h.node}`,
        lines: ["OpenFlow"],
        node: h.node,
      });
      if (h.outcome.kind === "tunnel") {
        const t = tunnelsOf(d).find(
          (x) => x.fromNode === h.node && x.toNode === (h.outcome.kind === "tunnel" ? h.outcome.toNode : ""),
        );
        if (t !== undefined) tunnelHops.set(elements.length - 2, t);
      }
    }
  }
  const lastNode = elements.at(-1)?.node;
  const ends = endElements(d.verdict, d, () => id(), lastNode);
  elements.push(...ends);

  // edges: element i → i + 1; the tunnels between segments, the NATs after the segment that did them
  const nats = natLabels(d, segments);
  const edges: PathEdge[] = [];
  const firstEnd = elements.length - ends.length;
  for (let i = 0; i + 1 < elements.length; i++) {
    const from = elements[i];
    const to = elements[i + 1];
    if (from === undefined || to === undefined) continue;
    const labels: EdgeLabel[] = [];
    // element i is segment i - 1 (the source comes first)
    const t = tunnelHops.get(i - 1);
    if (t !== undefined) labels.push({ kind: "tunnel", text: tunnelText(t) });
    for (const x of nats)
      if ((x.after >= 0 && x.after === i - 1) || (x.after < 0 && i + 1 === firstEnd)) labels.push(x.label);
    edges.push({ from: from.id, to: to.id, tunnel: t !== undefined, labels });
  }
  const nodes: string[] = [];
  for (const e of elements) if (e.node !== undefined && !nodes.includes(e.node)) nodes.push(e.node);
  return { elements, edges, nodes, segments };
}

/** `geneve tunnel ovn-worker → ovn-worker2 (172.18.0.4), VNI 0xff0003 (16711683: transit_switch), ports 3 → 4`. */
export function tunnelText(t: TunnelSummary): string {
  const ports =
    t.ingressPortKey === undefined || t.egressPortKey === undefined
      ? ""
      : `, ports ${String(t.ingressPort ?? t.ingressPortKey)} → ${String(t.egressPort ?? t.egressPortKey)}`;
  return `geneve tunnel ${t.fromNode} → ${t.toNode}${t.remoteIp === undefined ? "" : ` (${t.remoteIp})`}, VNI ${t.vniHex} (${String(t.vni)}${t.datapath === undefined ? "" : `: ${t.datapath}`})${ports}`;
}
