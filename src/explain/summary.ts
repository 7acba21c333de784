import { verdictSentence } from "../render/verdict-text.js";
import type {
  ArrivalAddresses,
  DirectionSummary,
  ServiceBackendSummary,
  SnatSummary,
  SummaryEndpoint,
  TunnelSummary,
  Verdict,
} from "../model/report.js";
import type { TracedHop } from "../model/traced-hop.js";
import { tunnelOf } from "../parsers/datapath-actions.js";
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
  readonly hops: readonly TracedHop[];
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

function tunnelOfHop(
  { hop: h, ofproto }: TracedHop,
  sourcesOf: SummaryInput["sourcesOf"],
): TunnelSummary | undefined {
  if (h.tool !== "ofproto/trace" || h.outcome.kind !== "tunnel") return undefined;
  const { toNode, vni } = h.outcome;
  const t = tunnelOf(ofproto?.passes.at(-1)?.datapathActions.actions ?? []);
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

/** The verdict's addresses on arrival, when it has them. */
function arrivalOf(v: Verdict): ArrivalAddresses | undefined {
  if (v.kind !== "delivered" && v.kind !== "left-cluster" && v.kind !== "rejected") return undefined;
  if (v.srcIp === undefined || v.dstIp === undefined) return undefined;
  return {
    srcIp: v.srcIp,
    dstIp: v.dstIp,
    ...(v.srcPort === undefined ? {} : { srcPort: v.srcPort }),
    ...(v.dstPort === undefined ? {} : { dstPort: v.dstPort }),
  };
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
  const { text: reason, objects } = verdictSentence(v);
  const arrival = arrivalOf(v);
  return {
    source: i.source,
    destination: i.destination,
    ...(i.serviceBackend === undefined ? {} : { serviceBackend: i.serviceBackend }),
    tunnels,
    ...(snat === undefined ? {} : { snat }),
    ...(arrival === undefined ? {} : { arrival }),
    verdict: v.kind,
    reason,
    ...(objects.length === 0 ? {} : { objects }),
  };
}
