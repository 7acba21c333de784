import type { ClusterBackend } from "../cluster/backend.js";
import { ovnDatabases } from "../cluster/node-databases.js";
import { OvnDecoder } from "../explain/decode.js";
import { cookiesBeforeLast, explainDrop } from "../explain/drop.js";
import { hairpinSource } from "../explain/hairpin.js";
import { explainReject } from "../explain/reject.js";
import type { SummaryInput } from "../explain/summary.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type {
  DirectionReport,
  Hop,
  L4Protocol,
  ServiceBackendSummary,
  SummaryEndpoint,
  Verdict,
} from "../model/report.js";
import type { Resolution, ResolvedSource } from "../model/target.js";
import type { TracedHop } from "../model/traced-hop.js";
import { hostPort } from "../net/ip.js";
import type { NatEvent } from "./conntrack.js";
import {
  traceLogical,
  traceLogicalFrom,
  type LogicalTraceContext,
  type LogicalTraceRequest,
} from "./logical-trace.js";
import { nodeView, traceOpenFlow, type NodeViews } from "./openflow-trace.js";
import type { OpenFlowEnd } from "./stitch.js";
import { knownPods, podFields, type DirectionPlan } from "./plan.js";
import { userDefinedNetworkRef } from "../udn-names.js";
import { checksOf, verdictOf } from "./verdict.js";
import { withHostHandoff } from "./host-handoff.js";
import { withEgressFirewallRule } from "./egress-firewall.js";
import { withEgressIPReroute } from "./egress-ip.js";

/** One direction traced: ovn-trace in each zone and ofproto/trace on each node, then the verdict named. */

/** What one run shares between its traces: each node's OVS and each zone's databases, read once. */
export interface RunContext {
  readonly b: ClusterBackend;
  readonly views: NodeViews;
  readonly dbs: Map<string, Promise<OvnDatabases>>;
  /** The zone of a node: nodes of one zone share its databases (read once). */
  readonly zoneOf?: (node: string) => string | undefined;
}

/** A node's zone databases, read once per zone per run. */
export const databasesOf = (run: RunContext, node: string): Promise<OvnDatabases> =>
  ovnDatabases(run.b, run.dbs, node, run.zoneOf);

/** A traced direction: its report (without detrace and summary yet), its hops, and what its summary needs. */
export interface TracedDirection {
  readonly report: DirectionReport;
  readonly hops: readonly TracedHop[];
  readonly summary: Omit<SummaryInput, "hops" | "verdict" | "sourcesOf">;
}

const why = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/**
 * Where the sender's packet enters OVS: a pod's port on br-int (ovn-k8s-mp0 for a host-network pod), or for a
 * client outside the uplink of the node's shared gateway bridge (its one port that is neither internal nor a patch).
 */
async function entryOf(run: RunContext, p: ResolvedSource): Promise<{ bridge: string; port: string }> {
  if (p.kind === "pod" && p.hostNetwork) return { bridge: "br-int", port: "ovn-k8s-mp0" };
  const v = await nodeView(run.b, run.views, p.node);
  if (p.kind === "pod")
    return {
      bridge: "br-int",
      port: v.interfaces.find((i) => i.bridge === "br-int" && i.ifaceId === p.lsp)?.name ?? p.lsp,
    };
  const uplink = v.interfaces.find(
    (i) => i.bridge === p.bridge && i.name !== p.bridge && i.type !== "internal" && i.type !== "patch",
  );
  return { bridge: p.bridge, port: uplink?.name ?? p.bridge };
}

/** Adds the Kubernetes reason to a drop, from the zone's databases (read only when something dropped). */
export async function explained(
  run: RunContext,
  v: Verdict,
  cookie: string | undefined,
  d: DirectionPlan,
  last?: TracedHop,
): Promise<Verdict> {
  if (v.kind !== "dropped" || cookie === undefined) return v;
  const pods = { src: d.from.lsp, ...(d.expect.kind === "pod" ? { dst: d.expect.lsp } : {}) };
  try {
    const earlier = cookiesBeforeLast(last?.ofproto);
    const e = explainDrop(await databasesOf(run, v.node), { cookie, earlier }, pods);
    return e === undefined ? v : { ...v, explanation: e.text, objects: e.objects };
  } catch (err) {
    return { ...v, explanation: `could not read the OVN databases of ${v.node} to explain it: ${why(err)}` };
  }
}

/**
 * A packet handed to ovn-controller: a reject when its logical flow rejects (OVN answers the sender), else
 * unknown, saying why (ofproto/trace cannot follow a packet-in).
 */
async function answered(
  run: RunContext,
  v: Verdict,
  end: OpenFlowEnd,
  d: DirectionPlan,
  protocol: L4Protocol,
): Promise<Verdict> {
  if (end.kind !== "controller" || end.cookie === undefined) return v;
  try {
    const r = explainReject(
      await databasesOf(run, end.node),
      end.cookie,
      { ip: d.dstIp, port: d.dstPort },
      protocol,
      end.node,
    );
    if (r === undefined) return v;
    // a TCP reset answers with ports; a UDP or ICMP packet is answered by an ICMP error, which has none
    const ports = protocol === "tcp" ? { srcPort: d.dstPort, dstPort: d.srcPort } : {};
    return {
      kind: "rejected",
      node: end.node,
      reason: r.reason,
      explanation: r.explanation,
      ...(r.objects.length === 0 ? {} : { objects: r.objects }),
      srcIp: d.dstIp,
      dstIp: d.from.ip,
      ...ports,
    };
  } catch (err) {
    return {
      kind: "unknown",
      reason: `${v.kind === "unknown" ? v.reason : ""}; could not read the OVN databases of ${end.node}: ${why(err)}`,
    };
  }
}

/**
 * Names the Kubernetes objects of a successful verdict: the Service of a backend reached through it, the
 * gateway a packet left through and what its SNAT address is (the zone's NAT rows, read only then).
 */
async function named(
  run: RunContext,
  v: Verdict,
  d: DirectionPlan,
  lastLogical: Hop | undefined,
): Promise<Verdict> {
  if (v.kind === "delivered" && d.to.kind === "service")
    return { ...v, service: { kind: "Service", namespace: d.to.namespace, name: d.to.name } };
  if (v.kind !== "left-cluster") return v;
  const lo = lastLogical?.outcome;
  const gwNode =
    lo?.kind === "output" && lo.portType === "localnet" ? /^[^_]+_(.+)$/.exec(lo.port)?.[1] : undefined;
  const gateway = gwNode === undefined ? {} : { gateway: `gateway router of node ${gwNode}` };
  if (v.snatIp === undefined) return { ...v, ...gateway };
  try {
    const s = new OvnDecoder(await databasesOf(run, v.node)).describeSnat("snat", v.snatIp, d.from.ip);
    return { ...v, ...gateway, snat: s.meaning, ...(s.objects === undefined ? {} : { objects: s.objects }) };
  } catch (err) {
    return { ...v, ...gateway, snat: `unknown (could not read the OVN databases of ${v.node}: ${why(err)})` };
  }
}

/**
 * A load balancer that picked the sender itself sends the packet back with the hairpin source (see
 * explain/hairpin.ts): the one step of the path ofproto/trace cannot show, read from the zone's NB.
 */
async function hairpinned(run: RunContext, v: Verdict, d: DirectionPlan): Promise<Verdict> {
  // sent to another address (a Service's VIP or a NodePort, named or not) and delivered back to the sender itself
  if (v.kind !== "delivered" || d.from.kind !== "pod" || d.dstIp === d.from.ip) return v;
  if (v.to.kind !== "pod" || v.to.name !== d.from.name || v.to.namespace !== d.from.namespace) return v;
  try {
    const hp = hairpinSource((await databasesOf(run, v.node)).nb, {
      ip: d.dstIp,
      port: d.dstPort,
    });
    const hairpin = {
      snatIp: hp.ip,
      ...(hp.loadBalancer === undefined ? {} : { loadBalancer: hp.loadBalancer }),
    };
    return { ...v, srcIp: hp.ip, hairpin };
  } catch (err) {
    return {
      kind: "unknown",
      reason: `hairpin to ${v.node}: the source the load balancer gives it depends on the zone's NB, which could not be read: ${why(err)}`,
    };
  }
}

async function summaryEndpoint(run: RunContext, p: ResolvedSource): Promise<SummaryEndpoint> {
  if (p.kind === "external") return { kind: "external", ip: p.ip, node: p.node };
  const v = await nodeView(run.b, run.views, p.node).catch(() => undefined);
  const iface = p.hostNetwork
    ? undefined
    : v?.interfaces.find((i) => i.bridge === "br-int" && i.ifaceId === p.lsp);
  return {
    kind: "pod",
    ...podFields(p),
    ...(iface === undefined ? {} : { iface: iface.name }),
    ...(iface?.ofport === undefined ? {} : { ofport: iface.ofport }),
    ...(p.network === undefined
      ? {}
      : { network: { name: p.network.name, object: userDefinedNetworkRef(p.network.name, p.network.nad) } }),
  };
}

async function summaryOf(run: RunContext, d: DirectionPlan): Promise<TracedDirection["summary"]> {
  const source = await summaryEndpoint(run, d.from);
  const to = d.to;
  const destination: SummaryEndpoint =
    d.dstPod !== undefined
      ? await summaryEndpoint(run, d.dstPod)
      : to.kind === "pod"
        ? { kind: "pod", namespace: to.namespace, name: to.name, node: to.node, ip: to.ip }
        : to.kind === "node"
          ? { kind: "node", name: to.name, node: to.name, ip: to.ip }
          : { kind: to.kind, ip: to.ip };
  const serviceBackend: ServiceBackendSummary | undefined =
    to.kind === "service" && d.lbDst !== undefined
      ? {
          service: { kind: "Service", namespace: to.namespace, name: to.name },
          vip: hostPort(to.ip, to.port),
          backend: hostPort(d.lbDst.ip, d.lbDst.port),
          ...(d.dstPod === undefined
            ? {}
            : { pod: { kind: "Pod", namespace: d.dstPod.namespace, name: d.dstPod.name } }),
          ...(d.local === undefined ? {} : { local: d.local }),
        }
      : undefined;
  return { source, destination, ...(serviceBackend === undefined ? {} : { serviceBackend }) };
}

/** What ovn-trace is asked for one planned direction. */
export function logicalRequest(r: Resolution, d: DirectionPlan): LogicalTraceRequest {
  return {
    src: {
      node: d.from.node,
      lsp: d.from.lsp,
      mac: d.from.mac,
      ip: d.from.ip,
      // from outside: the external switch, which ovn-trace takes from the localnet inport; on a primary user-defined
      // network, that network's node switch, from the pod's port there
      ...(d.from.kind === "external" || d.from.network !== undefined ? { datapath: null } : {}),
    },
    dstIp: d.dstIp,
    dstMac: d.dstMac,
    protocol: r.protocol,
    srcPort: d.srcPort,
    dstPort: d.dstPort,
    ct: d.ctState === "trk,new" ? "new" : "est,rpl",
    ...(d.lbDst === undefined ? {} : { lbDst: d.lbDst }),
  };
}

function traceBoth(run: RunContext, r: Resolution, d: DirectionPlan, undo: readonly NatEvent[]) {
  const b = run.b;
  const logical: LogicalTraceContext = {
    exec: (node, argv) => b.execOnNode(node, argv),
    ...(b.ovnTrace === undefined ? {} : { ovnTrace: b.ovnTrace.bind(b) }),
    interconnect: r.interconnect,
    transitMac: (node) => r.nodes.get(node)?.transitMac,
  };
  return Promise.all([
    traceLogical(logical, logicalRequest(r, d)),
    entryOf(run, d.from).then(async (entry) => {
      const openflow = await traceOpenFlow(
        b,
        {
          node: d.from.node,
          bridge: entry.bridge,
          inPort: entry.port,
          packet: {
            family: r.family,
            protocol: r.protocol,
            ethSrc: d.from.mac,
            ethDst: d.dstMac,
            src: d.from.ip,
            dst: d.dstIp,
            ttl: 64,
            ...(r.protocol === "icmp" ? {} : { srcPort: d.srcPort, dstPort: d.dstPort }),
          },
          ctState: d.ctState,
          ...(d.lbDst === undefined ? {} : { wantBackend: hostPort(d.lbDst.ip, d.lbDst.port) }),
          ...(undo.length === 0 ? {} : { undo, databases: (node: string) => databasesOf(run, node) }),
        },
        run.views,
      );
      // ovn-trace cannot undo the SNAT either: the router that undid it is traced again from its port
      const u = openflow.unsnat;
      const resumed =
        u?.inport === undefined
          ? undefined
          : await traceLogicalFrom(logical, logicalRequest(r, d), {
              node: u.node,
              inport: u.inport,
              ethSrc: u.packet.ethSrc,
              ethDst: u.packet.ethDst,
              srcIp: u.packet.src,
              dstIp: u.packet.dst,
              ttl: u.packet.ttl,
              srcPort: u.packet.srcPort ?? d.srcPort,
              dstPort: u.packet.dstPort ?? d.dstPort,
            });
      return { openflow, resumed };
    }),
  ]);
}

/**
 * One direction traced. `undo`: for a reply, the forward direction's translations, so that the traces follow the
 * reply where conntrack gives it its original destination back (an un-SNAT).
 */
export async function traceDirection(
  run: RunContext,
  r: Resolution,
  d: DirectionPlan,
  undo: readonly NatEvent[] = [],
): Promise<TracedDirection> {
  const [first, { openflow, resumed }] = await traceBoth(run, r, d, undo);
  const logical = resumed === undefined ? first : [...first, resumed];
  const lastLogical = logical.at(-1)?.hop;
  const end = openflow.end;
  const found = verdictOf(end, lastLogical, knownPods(r));
  const dropCookie = end.kind === "dropped" ? end.cookie : undefined;
  // each step names what the verdict owes to one more kind of OVN object (none of them changes the verdict)
  const databases = (node: string): Promise<OvnDatabases> => databasesOf(run, node);
  let verdict = await explained(run, found, dropCookie, d, openflow.hops.at(-1));
  verdict = await answered(run, verdict, end, d, r.protocol);
  verdict = await hairpinned(run, await named(run, verdict, d, lastLogical), d);
  verdict = await withHostHandoff(run.b, r, verdict, lastLogical);
  verdict = await withEgressFirewallRule(databases, logical, verdict);
  verdict = await withEgressIPReroute(databases, logical, verdict);
  const hops = [...logical, ...openflow.hops];
  const report: DirectionReport = {
    packet: {
      direction: d.direction,
      family: r.family,
      protocol: r.protocol,
      srcIp: d.from.ip,
      dstIp: d.dstIp,
      ...(r.protocol === "icmp" ? {} : { srcPort: d.srcPort, dstPort: d.dstPort }),
      ctState: d.ctState,
    },
    checks: checksOf(d.expect, lastLogical, openflow.hops.at(-1)?.hop, end),
    hops: hops.map((h) => h.hop),
    verdict,
  };
  return { report, hops, summary: await summaryOf(run, d) };
}
