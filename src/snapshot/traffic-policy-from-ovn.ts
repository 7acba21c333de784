import { ETP_LOCAL_MASQUERADE_IP } from "../cluster/ovnk-service-vips.js";
import { canonicalIp } from "../net/ip.js";

/**
 * A Service's Local traffic policies, read back from its load balancers (pkg/ovn/controller/services/lb_config.go):
 * externalTrafficPolicy=Local puts the masquerade VIP 169.254.169.3 (fd69::3) with the nodePort on every node
 * switch's load balancer; internalTrafficPolicy=Local gives a node switch's load balancer (`_node_switch_`) fewer
 * backends for a cluster IP than the gateway router's (`_node_router_`) of the same node: only the node's own.
 * (A node switch's load balancer also differs from the router's when a Service has host-network endpoints, but
 * then the router has the host masquerade address instead of the node's, not fewer.) Pure.
 */

export interface LoadBalancerVip {
  /** The load balancer's name. */
  readonly lb: string;
  readonly host: string;
  readonly port: number;
  readonly backends: readonly { readonly ip: string; readonly port: number }[];
  /** A node address (node IP, masquerade address or a template variable): a node port. */
  readonly node: boolean;
}

export interface TrafficPolicies {
  readonly externalTrafficPolicy?: "Local";
  readonly internalTrafficPolicy?: "Local";
}

const ETP_VIPS = new Set(Object.values(ETP_LOCAL_MASQUERADE_IP));
const key = (b: { readonly ip: string; readonly port: number }): string => `${b.ip}:${String(b.port)}`;

export function trafficPoliciesOf(vips: readonly LoadBalancerVip[]): TrafficPolicies {
  const etp = vips.some((v) => ETP_VIPS.has(canonicalIp(v.host) ?? v.host));
  const itp = vips.some((sw) => {
    if (sw.node || !sw.lb.includes("_node_switch_")) return false;
    const mine = new Set(sw.backends.map(key));
    return vips.some(
      (r) =>
        r.lb.includes("_node_router_") &&
        r.host === sw.host &&
        r.port === sw.port &&
        r.backends.length > mine.size &&
        [...mine].every((b) => r.backends.some((x) => key(x) === b)),
    );
  });
  return {
    ...(etp ? { externalTrafficPolicy: "Local" as const } : {}),
    ...(itp ? { internalTrafficPolicy: "Local" as const } : {}),
  };
}
