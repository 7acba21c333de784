import type { KubeObjectRef } from "../model/report.js";
import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import { externalIds, numberColumn, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import type { KubeMeaning } from "./owners.js";

/**
 * EgressIP objects in Kubernetes terms, from what ovnkube-controller writes (pkg/ovn/egressip.go): the SNAT on the
 * egress node's gateway router and the reroute / no-reroute policies on ovn_cluster_router, all with owner-type
 * EgressIP and `k8s.ovn.org/name` `<egressip>_<namespace>/<pod>` (or the no-reroute policy's own name).
 */

/** The EgressIP and pod of a `<egressip>_<namespace>/<pod>` name (EgressIP names hold no `_`, namespaces no `/`). */
function egressIPPodOf(name: string): { egressIP: string; pod?: KubeObjectRef } | undefined {
  const cut = name.indexOf("_");
  if (cut <= 0) return undefined;
  const egressIP = name.slice(0, cut);
  const [ns, pod] = name.slice(cut + 1).split("/");
  return ns && pod ? { egressIP, pod: { kind: "Pod", namespace: ns, name: pod } } : { egressIP };
}

const isEgressIPRow = (row: OvsdbRow): boolean => externalIds(row)["k8s.ovn.org/owner-type"] === "EgressIP";

const podText = (pod: KubeObjectRef | undefined): string =>
  pod === undefined ? "" : ` for pod ${pod.namespace ?? ""}/${pod.name}`;

/** An EgressIP's SNAT row, on the gateway router of its egress node; undefined for any other NAT. */
export function egressIPNatMeaning(nb: OvsdbDatabase, nat: OvsdbRow): KubeMeaning | undefined {
  if (!isEgressIPRow(nat)) return undefined;
  const owner = egressIPPodOf(externalIds(nat)["k8s.ovn.org/name"] ?? "");
  const ip = stringColumn(nat, "external_ip") ?? "";
  const router = tableRows(nb, "Logical_Router").find((r) => setColumn(r, "nat").includes(nat.uuid));
  const routerName = router === undefined ? "" : (stringColumn(router, "name") ?? "");
  const egressNode = /^GR_(.+)$/.exec(routerName)?.[1];
  return {
    text: `EgressIP ${owner?.egressIP ?? "?"} (${ip})${podText(owner?.pod)}${
      egressNode === undefined ? "" : `, SNAT on its egress node ${egressNode}`
    }`,
    objects: [
      { kind: "EgressIP", name: owner?.egressIP ?? "" },
      ...(owner?.pod === undefined ? [] : [owner.pod]),
      ...(egressNode === undefined ? [] : [{ kind: "Node", name: egressNode }]),
    ],
  };
}

/** The node a reroute next hop belongs to: its gateway router's join port or its cluster router transit port. */
function nodeOfNextHop(nb: OvsdbDatabase, ip: string): string | undefined {
  const has = (addresses: readonly string[]): boolean =>
    addresses.some((a) => a.split(" ").some((x) => x.split("/")[0] === ip));
  for (const lrp of tableRows(nb, "Logical_Router_Port")) {
    const node = /^(?:rtoj-GR_|rtots-)(.+)$/.exec(stringColumn(lrp, "name") ?? "")?.[1];
    if (node !== undefined && has(setColumn(lrp, "networks").map(String))) return node;
  }
  for (const lsp of tableRows(nb, "Logical_Switch_Port")) {
    const node = /^tstor-(.+)$/.exec(stringColumn(lsp, "name") ?? "")?.[1];
    if (node !== undefined && has(setColumn(lsp, "addresses").map(String))) return node;
  }
  return undefined;
}

/** An EgressIP's policy on the cluster router: a pod's reroute to its egress nodes, or a no-reroute policy. */
export function egressIPPolicyMeaning(nb: OvsdbDatabase, policy: OvsdbRow): KubeMeaning | undefined {
  if (!isEgressIPRow(policy)) return undefined;
  const name = externalIds(policy)["k8s.ovn.org/name"] ?? "";
  const priority = numberColumn(policy, "priority");
  if (stringColumn(policy, "action") !== "reroute")
    return { text: `EgressIP no-reroute policy ${name} (priority ${String(priority)})`, objects: [] };
  const owner = egressIPPodOf(name);
  const hops = setColumn(policy, "nexthops").map(String);
  const nodes = [...new Set(hops.flatMap((h) => nodeOfNextHop(nb, h) ?? []))];
  const to = nodes.length === 0 ? hops.join(", ") : `egress node ${nodes.join(", ")} (${hops.join(", ")})`;
  return {
    text: `EgressIP ${owner?.egressIP ?? "?"}${podText(owner?.pod)}: rerouted to ${to} by the cluster router's priority-${String(priority)} policy`,
    objects: [
      { kind: "EgressIP", name: owner?.egressIP ?? "" },
      ...(owner?.pod === undefined ? [] : [owner.pod]),
      ...nodes.map((n): KubeObjectRef => ({ kind: "Node", name: n })),
    ],
  };
}
