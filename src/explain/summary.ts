import type {
  DirectionSummary,
  Hop,
  KubeObjectRef,
  ServiceBackendSummary,
  SnatSummary,
  SummaryEndpoint,
  TunnelSummary,
  Verdict,
} from "../model/report.js";
import { tunnelOf } from "../parsers/datapath-actions.js";
import { parseOfprotoTrace } from "../parsers/ofproto-trace.js";
import { OvnDecoder, type DecodeSources } from "./decode.js";

/**
 * A trace direction at a glance (the report's `summary`): source and destination (pod, node, IP, MAC,
 * ofport), the service backend the load balancer chose, every tunnel crossed (VNI in hex and decimal, remote
 * node and endpoint, OVN's logical port keys and their names), the SNAT address, and the verdict with its
 * reason. Pure: built from what the engine already has, and the zone databases it happened to read.
 */

export interface SummaryInput {
  readonly source: SummaryEndpoint;
  readonly destination: SummaryEndpoint;
  readonly serviceBackend?: ServiceBackendSummary;
  readonly hops: readonly Hop[];
  readonly verdict: Verdict;
  /** The databases of a node's zone, when this run read them (names for the tunnels' port keys). */
  readonly sourcesOf?: (node: string) => DecodeSources | undefined;
}

const decoders = new WeakMap<DecodeSources, OvnDecoder>();

function decoderOf(s: DecodeSources | undefined): OvnDecoder | undefined {
  if (s === undefined) return undefined;
  let d = decoders.get(s);
  if (d === undefined) decoders.set(s, (d = new OvnDecoder(s)));
  return d;
}

function tunnelOfHop(h: Hop, sourcesOf: SummaryInput["sourcesOf"]): TunnelSummary | undefined {
  if (h.tool !== "ofproto/trace" || h.outcome.kind !== "tunnel") return undefined;
  const { toNode, vni } = h.outcome;
  let t: ReturnType<typeof tunnelOf> = null;
  try {
    t = tunnelOf(parseOfprotoTrace(h.output).passes.at(-1)?.datapathActions.actions ?? []);
  } catch {
    t = null;
  }
  const d = decoderOf(sourcesOf?.(h.node));
  const name = (key: number | null | undefined): string | undefined =>
    key === null || key === undefined ? undefined : d?.portName(vni, key);
  const ingressPort = name(t?.ovnIngressPortKey);
  const egressPort = name(t?.ovnEgressPortKey);
  const datapath = d?.datapath(vni)?.name;
  return {
    fromNode: h.node,
    toNode,
    vni,
    vniHex: `0x${vni.toString(16)}`,
    ...(datapath === undefined ? {} : { datapath }),
    ...(t?.dst == null ? {} : { remoteIp: t.dst }),
    ...(t?.ovnIngressPortKey == null ? {} : { ingressPortKey: t.ovnIngressPortKey }),
    ...(t?.ovnEgressPortKey == null ? {} : { egressPortKey: t.ovnEgressPortKey }),
    ...(ingressPort === undefined ? {} : { ingressPort }),
    ...(egressPort === undefined ? {} : { egressPort }),
  };
}

const ref = (o: KubeObjectRef): string =>
  `${o.kind} ${o.namespace === undefined ? "" : `${o.namespace}/`}${o.name}`;

/** The verdict in one sentence, with the Kubernetes objects it names. */
export function verdictReason(v: Verdict): { reason: string; objects: readonly KubeObjectRef[] } {
  switch (v.kind) {
    case "delivered": {
      const to =
        v.to.kind === "pod"
          ? `pod ${v.to.namespace}/${v.to.name}`
          : v.to.kind === "node"
            ? `the host of node ${v.to.name}`
            : v.port;
      const via = v.service === undefined ? "" : ` (backend of ${ref(v.service)})`;
      const objects: KubeObjectRef[] = [
        ...(v.to.kind === "pod" ? [{ kind: "Pod", namespace: v.to.namespace, name: v.to.name }] : []),
        ...(v.service === undefined ? [] : [v.service]),
      ];
      return { reason: `delivered to ${to}${via} on ${v.node} (port ${v.port})`, objects };
    }
    case "dropped":
      return {
        reason: `dropped on ${v.node} at ${v.where}: ${v.explanation ?? v.reason}`,
        objects: v.objects ?? [],
      };
    case "left-cluster":
      return {
        reason: `left the cluster on ${v.node} through ${v.via}${v.gateway === undefined ? "" : ` (${v.gateway})`}${v.snatIp === undefined ? "" : `, source NAT to ${v.snatIp}${v.snat === undefined ? "" : ` (${v.snat})`}`}`,
        objects: v.objects ?? [],
      };
    case "rejected":
      return { reason: `rejected on ${v.node}: ${v.reason}`, objects: [] };
    case "unknown":
      return { reason: `unknown: ${v.reason}`, objects: [] };
  }
}

export function directionSummary(i: SummaryInput): DirectionSummary {
  const tunnels = i.hops
    .map((h) => tunnelOfHop(h, i.sourcesOf))
    .filter((t): t is TunnelSummary => t !== undefined);
  const v = i.verdict;
  const snat: SnatSummary | undefined =
    v.kind === "left-cluster" && v.snatIp !== undefined
      ? {
          ip: v.snatIp,
          description: v.snat ?? "unknown (the zone's NAT rows were not read)",
          ...(v.objects === undefined || v.objects.length === 0 ? {} : { objects: v.objects }),
        }
      : undefined;
  const { reason, objects } = verdictReason(v);
  return {
    source: i.source,
    destination: i.destination,
    ...(i.serviceBackend === undefined ? {} : { serviceBackend: i.serviceBackend }),
    tunnels,
    ...(snat === undefined ? {} : { snat }),
    verdict: v.kind,
    reason,
    ...(objects.length === 0 ? {} : { objects }),
  };
}
