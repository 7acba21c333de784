import type { KubeObject } from "../cluster/kube-objects.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { externalIds, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { DERIVED_ANNOTATION, DERIVED_FROM_OVN } from "./kubernetes-from-ovn.js";

/**
 * The EgressIPs a cluster's NB databases show: each SNAT ovnkube-controller wrote for one (owner-type EgressIP,
 * `k8s.ovn.org/name` `<egressip>_<namespace>/<pod>`) gives its name, an egress IP (the external IP) and the node it
 * is assigned to (the gateway router holding it): spec.egressIPs and status.items. The selectors stay unknown (OVN
 * keeps only the pods they selected, in the reroute policies' and SNATs' names).
 */
export function egressIPObjectsFromOvn(nbs: readonly (OvsdbDatabase | undefined)[]): KubeObject[] {
  const found = new Map<string, Map<string, string>>();
  for (const nb of nbs) {
    if (nb === undefined) continue;
    for (const router of tableRows(nb, "Logical_Router")) {
      const node = /^GR_(.+)$/.exec(stringColumn(router, "name") ?? "")?.[1];
      if (node === undefined) continue;
      const nats = new Set(setColumn(router, "nat"));
      for (const nat of tableRows(nb, "NAT")) {
        const ids = externalIds(nat);
        if (!nats.has(nat.uuid) || ids["k8s.ovn.org/owner-type"] !== "EgressIP") continue;
        const name = (ids["k8s.ovn.org/name"] ?? "").split("_")[0] ?? "";
        const ip = stringColumn(nat, "external_ip");
        if (name === "" || ip === undefined) continue;
        const items = found.get(name) ?? new Map<string, string>();
        items.set(ip, node);
        found.set(name, items);
      }
    }
  }
  return [...found.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([name, items]) => {
      const status = [...items.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      return {
        apiVersion: "k8s.ovn.org/v1",
        kind: "EgressIP",
        metadata: { name, annotations: { [DERIVED_ANNOTATION]: DERIVED_FROM_OVN } },
        spec: { egressIPs: status.map(([ip]) => ip) },
        status: { items: status.map(([egressIP, node]) => ({ node, egressIP })) },
      };
    });
}
