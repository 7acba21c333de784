import type { ClusterBackend } from "../cluster/backend.js";
import {
  REPORT_SCHEMA_VERSION,
  type Check,
  type DirectionReport,
  type Endpoint,
  type Hop,
  type ServiceBackendSummary,
  type SummaryEndpoint,
  type TraceReport,
  type Verdict,
} from "../model/report.js";
import { VERSION } from "../version.js";
import { traceLogical } from "./logical-trace.js";
import { nodeView, traceOpenFlow, type NodeViews, type OpenFlowEnd } from "./openflow-trace.js";
import { detrace } from "../explain/detrace.js";
import { explainDrop } from "../explain/drop.js";
import { OvnDecoder } from "../explain/decode.js";
import { directionSummary, type SummaryInput } from "../explain/summary.js";
import { ovnDatabases } from "../cluster/node-databases.js";
import { contains, hostPort, parseCidr, parseIp } from "../net/ip.js";
import type { OvnDatabases } from "../model/ovsdb.js";
import type { Resolution, ResolvedPod } from "../model/target.js";

export interface TraceOptions {
  /** Skip the ovn-detrace step (as the Go tool's -skip-detrace). */
  readonly skipDetrace?: boolean;
  /** Trace to every backend of a service, not just the first. */
  readonly allBackends?: boolean;
  readonly srcPort?: number;
}

interface DirectionSpec {
  readonly direction: "forward" | "reply";
  readonly from: ResolvedPod;
  readonly to: Endpoint;
  readonly dstIp: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** The logical port a successful trace ends on, or "external" for traffic leaving the cluster. */
  readonly expect: string;
  readonly lbDst?: { readonly ip: string; readonly port: number };
  /** The pod the packet is meant to reach (a service's backend), for the summary. */
  readonly dstPod?: ResolvedPod;
}

function podEndpoint(p: ResolvedPod): Endpoint {
  return {
    kind: "pod",
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ip: p.ip,
    ...(p.mac === "" ? {} : { mac: p.mac }),
    ...(p.hostNetwork ? {} : { lsp: p.lsp }),
    hostNetwork: p.hostNetwork,
  };
}

/** The MAC a pod sends to: the peer's own on its subnet, else its gateway (rtos-<node>). */
function nextHopMac(r: Resolution, from: ResolvedPod, dstIp: string): string {
  const node = r.nodes.get(from.node);
  const peer = [
    r.src,
    ...(r.dst.kind === "pod" ? [r.dst] : r.dst.kind === "service" ? r.dst.backends : []),
  ].find((p) => p.ip === dstIp);
  const ip = parseIp(dstIp);
  const onLink =
    peer !== undefined &&
    !peer.hostNetwork &&
    peer.node === from.node &&
    ip !== undefined &&
    (node?.subnets ?? []).some((s) => {
      const c = parseCidr(s);
      return c !== undefined && contains(c, ip);
    });
  return onLink ? peer.mac : (node?.gatewayMac ?? "");
}

async function inPortOf(b: ClusterBackend, views: NodeViews, p: ResolvedPod): Promise<string> {
  if (p.hostNetwork) return "ovn-k8s-mp0";
  const v = await nodeView(b, views, p.node);
  return v.interfaces.find((i) => i.bridge === "br-int" && i.ifaceId === p.lsp)?.name ?? p.lsp;
}

/**
 * The detrace step, native (explain/detrace.ts prints what ovn-detrace prints): every ofproto/trace
 * hop annotated from its node's zone databases, which are read once per node per run.
 */
async function detraceAll(
  b: ClusterBackend,
  dbs: Map<string, Promise<OvnDatabases>>,
  hops: readonly Hop[],
): Promise<Hop[]> {
  return Promise.all(
    hops.map(async (h): Promise<Hop> => {
      if (h.tool !== "ofproto/trace") return h;
      try {
        return {
          ...h,
          detrace: { exitCode: 0, output: detrace(h.output, await ovnDatabases(b, dbs, h.node)) },
        };
      } catch (e) {
        return {
          ...h,
          detrace: { exitCode: 1, output: "", error: e instanceof Error ? e.message : String(e) },
        };
      }
    }),
  );
}

/** Adds the detrace annotations and the detrace check to a direction's report. */
function withDetrace(d: DirectionReport, hops: readonly Hop[]): DirectionReport {
  const failed = hops.find((h) => h.detrace !== undefined && h.detrace.exitCode !== 0);
  const n = hops.filter((h) => h.detrace !== undefined).length;
  return {
    ...d,
    hops,
    checks: [
      ...d.checks,
      {
        tool: "ovn-detrace",
        success: failed === undefined,
        detail:
          failed === undefined
            ? `${n} hop(s) annotated`
            : `on ${failed.node}: ${failed.detrace?.error ?? ""}`,
      },
    ],
  };
}

function podFromLsp(lsp: string, node: string, known: readonly ResolvedPod[]): Endpoint {
  const k = known.find((p) => p.lsp === lsp);
  if (k !== undefined) return podEndpoint(k);
  const i = lsp.indexOf("_");
  return {
    kind: "pod",
    namespace: lsp.slice(0, i),
    name: lsp.slice(i + 1),
    node,
    ip: "",
    lsp,
    hostNetwork: false,
  };
}

function verdictOf(end: OpenFlowEnd, logical: Hop | undefined, known: readonly ResolvedPod[]): Verdict {
  switch (end.kind) {
    case "delivered":
      return end.ifaceId === undefined
        ? { kind: "delivered", to: { kind: "node", name: end.node, ip: "" }, node: end.node, port: end.iface }
        : {
            kind: "delivered",
            to: podFromLsp(end.ifaceId, end.node, known),
            node: end.node,
            port: end.iface,
          };
    case "left-cluster":
      return {
        kind: "left-cluster",
        node: end.node,
        via: end.iface,
        ...(end.snatIp === undefined ? {} : { snatIp: end.snatIp }),
      };
    case "dropped": {
      const lo = logical?.outcome;
      const stage = lo?.kind === "dropped" ? ` [logical: ${lo.where}]` : "";
      return {
        kind: "dropped",
        node: end.node,
        where: `${end.where}${stage}`,
        reason: lo?.kind === "dropped" ? lo.reason : end.reason,
      };
    }
    case "error":
      return { kind: "unknown", reason: `${end.node}: ${end.message}` };
  }
}

/** Adds the Kubernetes reason to a drop, from the zone's databases (read only when something dropped). */
async function explained(
  b: ClusterBackend,
  dbs: Map<string, Promise<OvnDatabases>>,
  v: Verdict,
  end: OpenFlowEnd,
  pods: { src?: string; dst?: string },
): Promise<Verdict> {
  if (v.kind !== "dropped" || end.kind !== "dropped" || end.cookie === undefined) return v;
  try {
    const e = explainDrop(await ovnDatabases(b, dbs, end.node), { cookie: end.cookie }, pods);
    return e === undefined ? v : { ...v, explanation: e.text, objects: e.objects };
  } catch (err) {
    return {
      ...v,
      explanation: `could not read the OVN databases of ${end.node} to explain it: ${err instanceof Error ? err.message : String(err)}`,
    };
  }
}

/**
 * Names the Kubernetes objects of a successful verdict: the Service of a backend reached through it, the
 * gateway a packet left through and what its SNAT address is (the zone's NAT rows, read only then).
 */
async function named(
  b: ClusterBackend,
  dbs: Map<string, Promise<OvnDatabases>>,
  v: Verdict,
  d: DirectionSpec,
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
    const s = new OvnDecoder(await ovnDatabases(b, dbs, v.node)).describeSnat("snat", v.snatIp);
    return { ...v, ...gateway, snat: s.meaning, ...(s.objects === undefined ? {} : { objects: s.objects }) };
  } catch (err) {
    const why = err instanceof Error ? err.message : String(err);
    return { ...v, ...gateway, snat: `unknown (could not read the OVN databases of ${v.node}: ${why})` };
  }
}

/** What the summary of a direction needs besides its hops and verdict. */
type SummaryBase = Omit<SummaryInput, "hops" | "verdict" | "sourcesOf">;
const summaryBases = new WeakMap<DirectionReport, SummaryBase>();

async function summaryEndpoint(
  b: ClusterBackend,
  views: NodeViews,
  p: ResolvedPod,
): Promise<SummaryEndpoint> {
  const v = await nodeView(b, views, p.node).catch(() => undefined);
  const iface = p.hostNetwork
    ? undefined
    : v?.interfaces.find((i) => i.bridge === "br-int" && i.ifaceId === p.lsp);
  return {
    kind: "pod",
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ip: p.ip,
    ...(p.mac === "" ? {} : { mac: p.mac }),
    ...(iface === undefined ? {} : { iface: iface.name }),
    ...(iface?.ofport === undefined ? {} : { ofport: iface.ofport }),
  };
}


async function summaryBase(b: ClusterBackend, views: NodeViews, d: DirectionSpec): Promise<SummaryBase> {
  const source = await summaryEndpoint(b, views, d.from);
  const destination: SummaryEndpoint =
    d.dstPod !== undefined
      ? await summaryEndpoint(b, views, d.dstPod)
      : d.to.kind === "pod"
        ? { kind: "pod", namespace: d.to.namespace, name: d.to.name, node: d.to.node, ip: d.to.ip }
        : d.to.kind === "node"
          ? { kind: "node", name: d.to.name, node: d.to.name, ip: d.to.ip }
          : { kind: d.to.kind, ip: d.to.ip };
  const serviceBackend: ServiceBackendSummary | undefined =
    d.to.kind === "service" && d.lbDst !== undefined
      ? {
          service: { kind: "Service", namespace: d.to.namespace, name: d.to.name },
          vip: hostPort(d.to.ip, d.to.port),
          backend: hostPort(d.lbDst.ip, d.lbDst.port),
          ...(d.dstPod === undefined
            ? {}
            : { pod: { kind: "Pod", namespace: d.dstPod.namespace, name: d.dstPod.name } }),
        }
      : undefined;
  return { source, destination, ...(serviceBackend === undefined ? {} : { serviceBackend }) };
}

async function traceDirection(
  b: ClusterBackend,
  dbs: Map<string, Promise<OvnDatabases>>,
  views: NodeViews,
  r: Resolution,
  d: DirectionSpec,
): Promise<DirectionReport> {
  const known = [r.src, ...(r.dst.kind === "pod" ? [r.dst] : r.dst.kind === "service" ? r.dst.backends : [])];
  const forward = d.direction === "forward";
  const dstMac = nextHopMac(r, d.from, d.dstIp);
  const [logical, openflow] = await Promise.all([
    traceLogical(
      {
        exec: (node, argv) => b.execOnNode(node, argv),
        interconnect: r.interconnect,
        transitMac: (node) => r.nodes.get(node)?.transitMac,
      },
      {
        src: { node: d.from.node, lsp: d.from.lsp, mac: d.from.mac, ip: d.from.ip },
        dstIp: d.dstIp,
        dstMac,
        protocol: r.protocol,
        srcPort: d.srcPort,
        dstPort: d.dstPort,
        ct: forward ? "new" : "est,rpl",
        ...(d.lbDst === undefined ? {} : { lbDst: d.lbDst }),
      },
    ),
    inPortOf(b, views, d.from).then((inPort) =>
      traceOpenFlow(
        b,
        {
          node: d.from.node,
          inPort,
          packet: {
            family: r.family,
            protocol: r.protocol,
            ethSrc: d.from.mac,
            ethDst: dstMac,
            src: d.from.ip,
            dst: d.dstIp,
            ttl: 64,
            ...(r.protocol === "icmp" ? {} : { srcPort: d.srcPort, dstPort: d.dstPort }),
          },
          ctState: forward ? "trk,new" : "trk,est,rpl",
          ...(d.lbDst === undefined
            ? {}
            : {
                wantBackend: hostPort(d.lbDst.ip, d.lbDst.port),
              }),
        },
        views,
      ),
    ),
  ]);
  const lastLogical = logical.at(-1);
  const lo = lastLogical?.outcome;
  // Traffic to an external address or to a host-network pod leaves OVN: through the gateway router's
  // localnet port (shared gateway) or the management port k8s-<node> (local gateway, same node).
  const leaves = d.expect === "external" || d.expect.startsWith("host:");
  const logicalOk =
    lo?.kind === "output" &&
    (leaves ? lo.portType === "localnet" || lo.port.startsWith("k8s-") : lo.port === d.expect);
  const end = openflow.end;
  const ofOk = leaves
    ? end.kind === "left-cluster" || (end.kind === "delivered" && end.ifaceId?.startsWith("k8s-") === true)
    : end.kind === "delivered" && end.ifaceId === d.expect;
  const describe = (h: Hop | undefined): string => {
    const x = h?.outcome;
    if (x === undefined) return "no trace ran";
    if (x.kind === "output")
      return `output to "${x.port}"${x.portType ? ` (${x.portType})` : ""} on ${h?.node ?? ""}`;
    if (x.kind === "dropped") return `dropped on ${h?.node ?? ""} in ${x.where}: ${x.reason}`;
    if (x.kind === "tunnel") return `tunnel to ${x.toNode}`;
    return `error on ${h?.node ?? ""}: ${x.message}`;
  };
  const checks: Check[] = [
    {
      tool: "ovn-trace",
      success: logicalOk,
      detail: logicalOk
        ? describe(lastLogical)
        : `expected output to ${leaves ? "the node's gateway" : `"${d.expect}"`}; got ${describe(lastLogical)}`,
    },
    {
      tool: "ofproto/trace",
      success: ofOk,
      detail: ofOk
        ? describe(openflow.hops.at(-1))
        : `expected ${leaves ? "to leave the cluster" : `delivery to ${d.expect}`}; got ${describe(openflow.hops.at(-1))}`,
    },
  ];

  const verdict = await named(
    b,
    dbs,
    await explained(b, dbs, verdictOf(end, lastLogical, known), end, {
      src: d.from.lsp,
      ...(d.expect === "external" ? {} : { dst: d.expect }),
    }),
    d,
    lastLogical,
  );
  const report: DirectionReport = {
    packet: {
      direction: d.direction,
      family: r.family,
      protocol: r.protocol,
      srcIp: d.from.ip,
      dstIp: d.dstIp,
      ...(r.protocol === "icmp" ? {} : { srcPort: d.srcPort, dstPort: d.dstPort }),
      ctState: forward ? "trk,new" : "trk,est,rpl",
    },
    checks,
    hops: [...logical, ...openflow.hops],
    verdict,
  };
  summaryBases.set(report, await summaryBase(b, views, d));
  return report;
}

/** Traces the connection both ways (for each chosen service backend), every tool run in parallel where independent. */
export async function runTraces(
  b: ClusterBackend,
  r: Resolution,
  o: TraceOptions = {},
): Promise<TraceReport[]> {
  const srcPort = o.srcPort ?? 52888;
  const d = r.dst;
  const views: NodeViews = new Map();
  const dbs = new Map<string, Promise<OvnDatabases>>();
  // read every node's OVS while the logical traces run
  for (const n of r.nodes.keys()) void nodeView(b, views, n).catch(() => undefined);
  const targets: {
    to: Endpoint;
    pod?: ResolvedPod;
    dstIp: string;
    dstPort: number;
    lb?: { ip: string; port: number };
  }[] =
    d.kind === "pod"
      ? [{ to: podEndpoint(d), pod: d, dstIp: d.ip, dstPort: r.dstPort }]
      : d.kind === "service"
        ? (o.allBackends === true ? d.backends : d.backends.slice(0, 1)).map((p) => ({
            to: { kind: "service", namespace: d.namespace, name: d.name, ip: d.ip, port: d.port },
            pod: p,
            dstIp: d.ip,
            dstPort: d.port,
            lb: { ip: p.ip, port: d.targetPort },
          }))
        : [{ to: { kind: "external", ip: d.ip }, dstIp: d.ip, dstPort: r.dstPort }];
  const traced = await Promise.all(
    targets.map(async (t) => {
      const [forward, reply] = await Promise.all([
        traceDirection(b, dbs, views, r, {
          direction: "forward",
          from: r.src,
          to: t.to,
          dstIp: t.dstIp,
          srcPort,
          dstPort: t.dstPort,
          expect: t.pod === undefined ? "external" : t.pod.hostNetwork ? `host:${t.pod.node}` : t.pod.lsp,
          ...(t.lb === undefined ? {} : { lbDst: t.lb }),
          ...(t.pod === undefined ? {} : { dstPod: t.pod }),
        }),
        t.pod === undefined
          ? Promise.resolve(undefined)
          : traceDirection(b, dbs, views, r, {
              direction: "reply",
              from: t.pod,
              to: podEndpoint(r.src),
              dstIp: r.src.ip,
              srcPort: t.lb?.port ?? t.dstPort,
              dstPort: srcPort,
              expect: r.src.hostNetwork ? `host:${r.src.node}` : r.src.lsp,
              dstPod: r.src,
            }),
      ]);
      return { t, forward, reply };
    }),
  );
  const directions = traced.flatMap((x) => (x.reply === undefined ? [x.forward] : [x.forward, x.reply]));
  let annotated = directions.map((x) => x.hops);
  if (o.skipDetrace !== true) {
    const all = await detraceAll(b, dbs, annotated.flat());
    let at = 0;
    annotated = annotated.map((hops) => all.slice(at, (at += hops.length)));
  }
  // the zone databases this run read (for detrace, drops, SNAT) name the tunnels' ports in the summaries
  const loaded = new Map<string, OvnDatabases>();
  for (const [node, p] of dbs) {
    const v = await p.catch(() => undefined);
    if (v !== undefined) loaded.set(node, v);
  }
  const finish = (x: DirectionReport): DirectionReport => {
    const hops = annotated[directions.indexOf(x)] ?? x.hops;
    const done = o.skipDetrace === true ? x : withDetrace(x, hops);
    const base = summaryBases.get(x);
    if (base === undefined) return done;
    const summary = directionSummary({
      ...base,
      hops: done.hops,
      verdict: done.verdict,
      sourcesOf: (node) => loaded.get(node),
    });
    return { ...done, summary };
  };
  return traced.map(({ t, forward, reply }): TraceReport => ({
    schemaVersion: REPORT_SCHEMA_VERSION,
    tool: { name: "ovnkube-trace", version: VERSION },
    cluster: { backend: b.kind, shape: r.interconnect ? "interconnect" : "central" },
    src: podEndpoint(r.src),
    dst: t.to,
    forward: finish(forward),
    ...(reply === undefined ? {} : { reply: finish(reply) }),
  }));
}
