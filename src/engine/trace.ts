import type { ClusterBackend } from "../cluster/backend.js";
import {
  REPORT_SCHEMA_VERSION,
  type Check,
  type DirectionReport,
  type Endpoint,
  type Hop,
  type TraceReport,
  type Verdict,
} from "../model/report.js";
import { VERSION } from "../version.js";
import { traceLogical } from "./logical-trace.js";
import { traceOpenFlow, type OpenFlowEnd } from "./openflow-trace.js";
import type { Resolution, ResolvedPod } from "./resolve.js";
import { contains, parseCidr, parseIp } from "../net/ip.js";

export interface TraceOptions {
  /** Skip the ovn-detrace step (as the Go tool's -skip-detrace). */
  readonly skipDetrace?: boolean;
  /** Trace to every backend of a service, not just the first. */
  readonly allBackends?: boolean;
  readonly srcPort?: number;
}

/** ovn-detrace as the Go tool runs it, with the node's own NB/SB (the sockets ovnkube-node uses by default). */
const DETRACE_SCRIPT =
  'exec ovn-detrace --ovnnb="${OVN_NB_DB:-unix:/var/run/ovn/ovnnb_db.sock}" --ovnsb="${OVN_SB_DB:-unix:/var/run/ovn/ovnsb_db.sock}"';

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

async function inPortOf(b: ClusterBackend, p: ResolvedPod): Promise<string> {
  if (p.hostNetwork) return "ovn-k8s-mp0";
  const r = await b.execOnNode(p.node, [
    "ovs-vsctl",
    "--bare",
    "--columns=name",
    "find",
    "interface",
    `external_ids:iface-id=${p.lsp}`,
  ]);
  const name = r.stdout.trim().split("\n")[0] ?? "";
  return name === "" ? p.lsp : name;
}

async function detrace(b: ClusterBackend, h: Hop): Promise<Hop> {
  const r = await b.execOnNode(h.node, ["sh", "-c", DETRACE_SCRIPT], { stdin: h.output });
  return {
    ...h,
    detrace: {
      exitCode: r.exitCode,
      output: r.stdout,
      ...(r.exitCode === 0
        ? {}
        : { error: (r.stderr.trim() || `exit ${r.exitCode}`).split("\n").slice(-2).join(" ") }),
    },
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

async function traceDirection(
  b: ClusterBackend,
  r: Resolution,
  d: DirectionSpec,
  o: TraceOptions,
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
    inPortOf(b, d.from).then((inPort) =>
      traceOpenFlow(b, {
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
          : { wantBackend: `${d.lbDst.ip.includes(":") ? `[${d.lbDst.ip}]` : d.lbDst.ip}:${d.lbDst.port}` }),
      }),
    ),
  ]);
  const ofHops =
    o.skipDetrace === true ? openflow.hops : await Promise.all(openflow.hops.map((h) => detrace(b, h)));
  const lastLogical = logical.at(-1);
  const lo = lastLogical?.outcome;
  const external = d.expect === "external";
  const logicalOk =
    lo?.kind === "output" &&
    (external ? lo.portType === "localnet" || lo.port.startsWith("k8s-") : lo.port === d.expect);
  const end = openflow.end;
  const ofOk = external ? end.kind === "left-cluster" : end.kind === "delivered" && end.ifaceId === d.expect;
  const describe = (h: Hop | undefined): string => {
    const x = h?.outcome;
    if (x === undefined) return "no trace ran";
    if (x.kind === "output")
      return `output to "${x.port}"${x.portType === undefined ? "" : ` (${x.portType})`} on ${h?.node ?? ""}`;
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
        : `expected output to ${external ? "the node's gateway" : `"${d.expect}"`}; got ${describe(lastLogical)}`,
    },
    {
      tool: "ofproto/trace",
      success: ofOk,
      detail: ofOk
        ? describe(openflow.hops.at(-1))
        : `expected ${external ? "to leave the cluster" : `delivery to ${d.expect}`}; got ${describe(openflow.hops.at(-1))}`,
    },
  ];
  if (o.skipDetrace !== true) {
    const failed = ofHops.find((h) => h.detrace !== undefined && h.detrace.exitCode !== 0);
    checks.push({
      tool: "ovn-detrace",
      success: failed === undefined,
      detail:
        failed === undefined
          ? `${ofHops.length} hop(s) annotated`
          : `on ${failed.node}: ${failed.detrace?.error ?? ""}`,
    });
  }
  return {
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
    hops: [...logical, ...ofHops],
    verdict: verdictOf(end, lastLogical, known),
  };
}

/** Traces the connection both ways (for each chosen service backend), every tool run in parallel where independent. */
export async function runTraces(
  b: ClusterBackend,
  r: Resolution,
  o: TraceOptions = {},
): Promise<TraceReport[]> {
  const srcPort = o.srcPort ?? 52888;
  const d = r.dst;
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
  return Promise.all(
    targets.map(async (t): Promise<TraceReport> => {
      const [forward, reply] = await Promise.all([
        traceDirection(
          b,
          r,
          {
            direction: "forward",
            from: r.src,
            to: t.to,
            dstIp: t.dstIp,
            srcPort,
            dstPort: t.dstPort,
            expect: t.pod?.lsp ?? "external",
            ...(t.lb === undefined ? {} : { lbDst: t.lb }),
          },
          o,
        ),
        t.pod === undefined
          ? Promise.resolve(undefined)
          : traceDirection(
              b,
              r,
              {
                direction: "reply",
                from: t.pod,
                to: podEndpoint(r.src),
                dstIp: r.src.ip,
                srcPort: t.lb?.port ?? t.dstPort,
                dstPort: srcPort,
                expect: r.src.lsp,
              },
              o,
            ),
      ]);
      const shape = r.interconnect ? "interconnect" : "central";
      return {
        schemaVersion: REPORT_SCHEMA_VERSION,
        tool: { name: "ovnkube-trace", version: VERSION },
        cluster: { backend: b.kind, shape },
        src: podEndpoint(r.src),
        dst: t.pod !== undefined && d.kind === "service" ? { ...t.to } : t.to,
        forward,
        ...(reply === undefined ? {} : { reply }),
      };
    }),
  );
}
