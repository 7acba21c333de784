import type { Endpoint } from "../model/report.js";
import type {
  LocalTrafficPolicy,
  Resolution,
  ResolvedExternal,
  ResolvedPod,
  ResolvedSource,
} from "../model/target.js";
import { contains, parseCidr, parseIp } from "../net/ip.js";

/**
 * Which traces a request needs, decided from the resolution alone (pure, no cluster access): one forward
 * direction per destination (each chosen backend of a Service), and the reply of each one that ends on a
 * pod; for each direction the packet, where it enters, what it is sent to and where a success ends.
 */

export interface TraceOptions {
  /** Skip the ovn-detrace step (as the Go tool's -skip-detrace). */
  readonly skipDetrace?: boolean;
  /** Trace to every backend of a service, not just the first. */
  readonly allBackends?: boolean;
  readonly srcPort?: number;
  /**
   * From a pod to an address outside the cluster, also trace the reply coming back in from outside: it enters at
   * the uplink of the node the packet left, addressed to where the gateway router's SNAT sent it from.
   */
  readonly replyFromOutside?: boolean;
}

/**
 * The source MAC of a client outside the cluster, when nothing says which: its frames come from the node's next
 * hop (a router), whose MAC the Kubernetes API does not know. OVN does not check it (the external switch has no port
 * security and the gateway router admits by destination MAC), so any unicast MAC traces the same; this one is
 * locally administered.
 */
export const EXTERNAL_SOURCE_MAC = "02:00:00:00:00:01";

/** The source port of a first packet when none is given. */
export const DEFAULT_SRC_PORT = 52888;

/** Where a successful trace of a direction ends. */
export type Expectation =
  | { readonly kind: "pod"; readonly lsp: string }
  /** The host of a node (a host-network pod): leaves OVN through the node's management port or gateway. */
  | { readonly kind: "host"; readonly node: string }
  /** Leaves the cluster (an external address). */
  | { readonly kind: "external" }
  /** Nothing can receive it (a Service without endpoints): every check fails, saying why. */
  | { readonly kind: "none"; readonly why: string };

export interface DirectionPlan {
  readonly direction: "forward" | "reply";
  /** A pod, or a client outside the cluster whose packet enters at a node's uplink. */
  readonly from: ResolvedSource;
  readonly to: Endpoint;
  readonly dstIp: string;
  /** The MAC the sender addresses: the peer's own on its subnet, else its gateway (rtos-<node>). */
  readonly dstMac: string;
  readonly srcPort: number;
  readonly dstPort: number;
  /** Conntrack state the traces assume: a first packet, or the reply of an established connection. */
  readonly ctState: "trk,new" | "trk,est,rpl";
  readonly expect: Expectation;
  /** The backend a Service's load balancer must pick. */
  readonly lbDst?: { readonly ip: string; readonly port: number };
  /** The pod the packet is meant to reach (a service's backend), for the summary. */
  readonly dstPod?: ResolvedPod;
  /** The Service's Local traffic policy that left only this node's endpoints. */
  readonly local?: LocalTrafficPolicy;
}

/** One destination of the request: its forward direction and, when it ends on a pod, the reply. */
export interface TargetPlan {
  readonly to: Endpoint;
  readonly forward: DirectionPlan;
  readonly reply?: DirectionPlan;
}

/** A pod's names and addresses, as every report shows them. */
export function podFields(p: ResolvedPod) {
  return {
    namespace: p.namespace,
    name: p.name,
    node: p.node,
    ip: p.ip,
    ...(p.mac === "" ? {} : { mac: p.mac }),
  };
}

export function podEndpoint(p: ResolvedPod): Endpoint {
  return {
    kind: "pod",
    ...podFields(p),
    ...(p.hostNetwork ? {} : { lsp: p.lsp }),
    hostNetwork: p.hostNetwork,
  };
}

/** Every pod the resolution knows: the source, the destination pod or the service's backends. */
export function knownPods(r: Resolution): ResolvedPod[] {
  return [
    ...(r.src.kind === "pod" ? [r.src] : []),
    ...(r.dst.kind === "pod" ? [r.dst] : r.dst.kind === "service" ? r.dst.backends : []),
  ];
}

/**
 * The MAC a pod sends to: the peer's own on its subnet, else its gateway (rtos-<node>, or its primary network's). A
 * client outside sends to the node's MAC.
 */
export function nextHopMac(r: Resolution, from: ResolvedSource, dstIp: string): string {
  if (from.kind === "external") return from.nodeMac;
  const node = r.nodes.get(from.node);
  const peer = knownPods(r).find((p) => p.ip === dstIp);
  const ip = parseIp(dstIp);
  const onLink =
    peer !== undefined &&
    !peer.hostNetwork &&
    // on a user-defined network the subnet says it (a layer2 network spans the nodes)
    (peer.node === from.node || (from.network !== undefined && peer.network?.name === from.network.name)) &&
    ip !== undefined &&
    (from.network === undefined ? (node?.subnets ?? []) : [from.network.subnet]).some((s) => {
      const c = parseCidr(s);
      return c !== undefined && contains(c, ip);
    });
  if (onLink) return peer.mac;
  // on a primary user-defined network, the gateway is that network's router port
  return from.network === undefined ? (node?.gatewayMac ?? "") : (from.network.gatewayMac ?? "");
}

const expectationOf = (p: ResolvedPod | undefined, to?: Endpoint, local?: LocalTrafficPolicy): Expectation =>
  to?.kind === "service"
    ? {
        kind: "none",
        why:
          local === undefined
            ? `Service ${to.namespace}/${to.name} has no ready endpoints`
            : `Service ${to.namespace}/${to.name} has ${local.policy}=Local and no ready endpoint on ${local.node}`,
      }
    : p === undefined
      ? { kind: "external" }
      : p.hostNetwork
        ? { kind: "host", node: p.node }
        : { kind: "pod", lsp: p.lsp };

interface Destination {
  readonly to: Endpoint;
  readonly pod?: ResolvedPod;
  readonly dstIp: string;
  readonly dstPort: number;
  readonly lb?: { readonly ip: string; readonly port: number };
  readonly local?: LocalTrafficPolicy;
}

function destinations(r: Resolution, o: TraceOptions): Destination[] {
  const d = r.dst;
  if (d.kind === "service" && d.backends.length === 0)
    return [
      {
        to: { kind: "service", namespace: d.namespace, name: d.name, ip: d.ip, port: d.port },
        dstIp: d.ip,
        dstPort: d.port,
        ...(d.local === undefined ? {} : { local: d.local }),
      },
    ];
  if (d.kind === "pod") return [{ to: podEndpoint(d), pod: d, dstIp: d.ip, dstPort: r.dstPort }];
  if (d.kind === "external") return [{ to: { kind: "external", ip: d.ip }, dstIp: d.ip, dstPort: r.dstPort }];
  return (o.allBackends === true ? d.backends : d.backends.slice(0, 1)).map((p) => ({
    to: { kind: "service", namespace: d.namespace, name: d.name, ip: d.ip, port: d.port },
    pod: p,
    dstIp: d.ip,
    dstPort: d.port,
    lb: { ip: p.ip, port: d.targetPort },
    ...(d.local === undefined ? {} : { local: d.local }),
  }));
}

/** A client at `ip` outside the cluster whose packets enter at `node`'s uplink (undefined: no shared gateway known). */
export function externalAt(r: Resolution, ip: string, node: string): ResolvedExternal | undefined {
  const gw = r.nodes.get(node)?.gateway;
  const family = parseIp(ip)?.family;
  const nodeIp = gw?.ips.find((x) => parseIp(x)?.family === family);
  if (gw === undefined || nodeIp === undefined) return undefined;
  return {
    kind: "external",
    ip,
    node,
    mac: EXTERNAL_SOURCE_MAC,
    lsp: gw.interfaceId,
    bridge: gw.bridge,
    nodeMac: gw.mac,
    nodeIp,
  };
}

/** A destination's forward direction, from `from` sending to `dstMac`. */
function forwardTo(t: Destination, from: ResolvedSource, dstMac: string, srcPort: number): DirectionPlan {
  return {
    direction: "forward",
    from,
    to: t.to,
    dstIp: t.dstIp,
    dstMac,
    srcPort,
    dstPort: t.dstPort,
    ctState: "trk,new",
    expect: t.pod === undefined ? expectationOf(undefined, t.to, t.local) : expectationOf(t.pod),
    ...(t.lb === undefined ? {} : { lbDst: t.lb }),
    ...(t.pod === undefined ? {} : { dstPod: t.pod }),
    ...(t.local === undefined ? {} : { local: t.local }),
  };
}

/** The backend's reply to the forward direction's sender (`to`, at `ip`), back to the port it sent from. */
function replyFrom(
  r: Resolution,
  t: Destination & { readonly pod: ResolvedPod },
  to: Endpoint,
  ip: string,
  srcPort: number,
  expect: Expectation,
): DirectionPlan {
  return {
    direction: "reply",
    from: t.pod,
    to,
    dstIp: ip,
    dstMac: nextHopMac(r, t.pod, ip),
    srcPort: t.lb?.port ?? t.dstPort,
    dstPort: srcPort,
    ctState: "trk,est,rpl",
    expect,
  };
}

const hasPod = (t: Destination): t is Destination & { readonly pod: ResolvedPod } => t.pod !== undefined;

/**
 * From outside the cluster: to a NodePort at the entry node's address (the gateway router's load balancer picks a
 * backend), and each backend's reply back to the client.
 */
function planFromOutside(r: Resolution, src: ResolvedExternal, o: TraceOptions): TargetPlan[] {
  const srcPort = o.srcPort ?? DEFAULT_SRC_PORT;
  return destinations(r, o).map((t): TargetPlan => {
    const forward = forwardTo(t, src, src.nodeMac, srcPort);
    if (!hasPod(t)) return { to: t.to, forward };
    const client: Endpoint = { kind: "external", ip: src.ip };
    return { to: t.to, forward, reply: replyFrom(r, t, client, src.ip, srcPort, { kind: "external" }) };
  });
}

/** The reply of a pod's packet to an address outside, coming back in at the pod's node (its gateway router). */
function replyFromOutside(r: Resolution, forward: DirectionPlan): DirectionPlan | undefined {
  const pod = r.src;
  if (pod.kind !== "pod" || pod.hostNetwork || r.dst.kind !== "external") return undefined;
  const from = externalAt(r, r.dst.ip, pod.node);
  if (from === undefined) return undefined;
  return {
    direction: "reply",
    from,
    to: podEndpoint(pod),
    dstIp: pod.ip,
    dstMac: from.nodeMac,
    srcPort: forward.dstPort,
    dstPort: forward.srcPort,
    ctState: "trk,est,rpl",
    expect: expectationOf(pod),
    dstPod: pod,
  };
}

/** The traces a request needs, in report order. */
export function planTraces(r: Resolution, o: TraceOptions = {}): TargetPlan[] {
  if (r.src.kind === "external") return planFromOutside(r, r.src, o);
  const src = r.src;
  const srcPort = o.srcPort ?? DEFAULT_SRC_PORT;
  return destinations(r, o).map((t): TargetPlan => {
    const forward = forwardTo(t, src, nextHopMac(r, src, t.dstIp), srcPort);
    if (!hasPod(t)) {
      const outside = o.replyFromOutside === true ? replyFromOutside(r, forward) : undefined;
      return outside === undefined ? { to: t.to, forward } : { to: t.to, forward, reply: outside };
    }
    const reply = replyFrom(r, t, podEndpoint(src), src.ip, srcPort, expectationOf(src));
    return { to: t.to, forward, reply: { ...reply, dstPod: src } };
  });
}

/**
 * The reply as the continuation of the forward connection: sent back to the source as the receiver saw it
 * (after a hairpin's or a gateway's SNAT), or the planned reply when the forward packet arrived unchanged.
 */
export function replyTo(
  r: Resolution,
  reply: DirectionPlan,
  arrived: { readonly srcIp?: string; readonly srcPort?: number },
): DirectionPlan {
  const dstIp = arrived.srcIp ?? reply.dstIp;
  const dstPort = arrived.srcPort ?? reply.dstPort;
  if (dstIp === reply.dstIp && dstPort === reply.dstPort) return reply;
  return { ...reply, dstIp, dstPort, dstMac: nextHopMac(r, reply.from, dstIp) };
}

/**
 * The reply from outside to a pod's packet that left the cluster: it comes back in at the node it left through,
 * addressed to the address and port it left with (the gateway router's SNAT). Undefined when that node's gateway
 * is not known.
 */
export function replyFromOutsideTo(
  r: Resolution,
  reply: DirectionPlan,
  left: { readonly node: string; readonly srcIp?: string; readonly srcPort?: number },
): DirectionPlan | undefined {
  if (reply.from.kind !== "external") return reply;
  const from = reply.from.node === left.node ? reply.from : externalAt(r, reply.from.ip, left.node);
  if (from === undefined) return undefined;
  return {
    ...reply,
    from,
    dstIp: left.srcIp ?? reply.dstIp,
    dstPort: left.srcPort ?? reply.dstPort,
    dstMac: from.nodeMac,
  };
}
