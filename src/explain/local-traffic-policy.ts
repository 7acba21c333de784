import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import { canonicalIp, splitHostPort } from "../net/ip.js";
import { externalIds, mapColumn, stringColumn, tableRows } from "../ovsdb/index.js";

/**
 * Why a Service's per-node load balancer has no backend for a VIP when the Service has endpoints: its traffic
 * policy is Local and the node has none of them. ovnkube-controller gives a node's load balancers only the node's
 * own endpoints for an externalTrafficPolicy=Local NodePort on the gateway router (`..._node_router_<node>`) and
 * for an internalTrafficPolicy=Local cluster IP on the node switch (`..._node_switch_<node>`), and every endpoint
 * to the other load balancer of the pair. Read from the NB alone, so it holds without Kubernetes objects. Pure.
 */

export type TrafficPolicyField = "externalTrafficPolicy" | "internalTrafficPolicy";

export interface LocalPolicyEmpty {
  readonly policy: TrafficPolicyField;
  /** How many endpoints the Service has for this VIP elsewhere (the other load balancer of the pair). */
  readonly endpointsElsewhere: number;
}

const sameVip = (a: string, b: string): boolean => {
  const x = splitHostPort(a);
  const y = splitHostPort(b);
  return x.port === y.port && (canonicalIp(x.ip) ?? x.ip) === (canonicalIp(y.ip) ?? y.ip);
};

/** The backends `lb` has for `vip` (`ip:port`), undefined when it has no such VIP. */
function backendsOf(lb: OvsdbRow, vip: string): string[] | undefined {
  const entry = Object.entries(mapColumn(lb, "vips")).find(([k]) => sameVip(k, vip));
  return entry === undefined
    ? undefined
    : String(entry[1])
        .split(",")
        .filter((b) => b !== "");
}

/** The Local policy that left `lb` without a backend for `vip`, or undefined when that is not why. */
export function localPolicyEmpty(nb: OvsdbDatabase, lb: OvsdbRow, vip: string): LocalPolicyEmpty | undefined {
  const name = stringColumn(lb, "name") ?? "";
  const policy: TrafficPolicyField | undefined = /_node_switch_/.test(name)
    ? "internalTrafficPolicy"
    : /_node_router_/.test(name)
      ? "externalTrafficPolicy"
      : undefined;
  const owner = externalIds(lb)["k8s.ovn.org/owner"];
  if (policy === undefined || owner === undefined || backendsOf(lb, vip)?.length !== 0) return undefined;
  const elsewhere = tableRows(nb, "Load_Balancer")
    .filter((o) => o.uuid !== lb.uuid && externalIds(o)["k8s.ovn.org/owner"] === owner)
    .map((o) => backendsOf(o, vip)?.length ?? 0);
  const most = Math.max(0, ...elsewhere);
  return most === 0 ? undefined : { policy, endpointsElsewhere: most };
}
