import type { OvsdbDatabase } from "../model/ovsdb.js";
import { externalIds, otherConfig, stringColumn, tableRows } from "../ovsdb/index.js";
import { networkPrefix } from "../udn-names.js";

/**
 * Each node's subnets of the layer3 user-defined networks, as `k8s.ovn.org/node-subnets` keys them (by network
 * name), from the OVN databases: a network's node switch is `<network prefix><node>` (GetNetworkScopedSwitchName)
 * with external_ids k8s.ovn.org/network and k8s.ovn.org/topology=layer3, and its subnet in other_config.
 */

/** node → network name → its subnets there. */
export function layer3NodeSubnets(
  nbs: readonly (OvsdbDatabase | undefined)[],
): Map<string, Record<string, string[]>> {
  const out = new Map<string, Record<string, string[]>>();
  for (const nb of nbs) {
    if (nb === undefined) continue;
    for (const ls of tableRows(nb, "Logical_Switch")) {
      const ids = externalIds(ls);
      const network = ids["k8s.ovn.org/network"];
      const name = stringColumn(ls, "name") ?? "";
      const prefix = network === undefined ? "" : networkPrefix(network);
      if (network === undefined || ids["k8s.ovn.org/topology"] !== "layer3" || !name.startsWith(prefix))
        continue;
      const oc = otherConfig(ls);
      const subnets = [
        ...(oc.subnet === undefined ? [] : [oc.subnet]),
        ...(oc.ipv6_prefix === undefined ? [] : [`${oc.ipv6_prefix}/64`]),
      ];
      // the transit switch has the network's ids too, and no subnet
      if (subnets.length === 0) continue;
      const node = name.slice(prefix.length);
      out.set(node, { ...(out.get(node) ?? {}), [network]: subnets });
    }
  }
  return out;
}
