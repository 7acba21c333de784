import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import type { KubeObjectRef } from "../model/report.js";
import { externalIds, setColumn, stringColumn, tableRows } from "../ovsdb/index.js";
import { networkPrefix, userDefinedNetworkRef } from "../udn-names.js";

/**
 * A drop by ovn-kubernetes' UDN isolation (pkg/ovn/udn_isolation.go), in Kubernetes terms. A pod whose namespace
 * has a primary user-defined network keeps an interface on the default network, for its kubelet only: its port
 * there is in the default network's port group `SecondaryPods` (owner-type UDNIsolation), whose ACLs drop everything
 * to and from it but ARP with, and connections from, the node's management port. The pod's port on its primary
 * network (external_ids k8s.ovn.org/network and k8s.ovn.org/nad) names the network.
 */

/** The pod's primary network, from its port there: `<prefix of its NAD><namespace>_<pod>`. */
function primaryNetworkOf(
  nb: OvsdbDatabase,
  podLsp: string,
): { network: string; nad: string; ips: string[] } | undefined {
  for (const lsp of tableRows(nb, "Logical_Switch_Port")) {
    const ids = externalIds(lsp);
    const nad = ids["k8s.ovn.org/nad"];
    const network = ids["k8s.ovn.org/network"];
    if (nad === undefined || network === undefined || ids.pod !== "true") continue;
    if (stringColumn(lsp, "name") !== `${networkPrefix(nad)}${podLsp}`) continue;
    const first = setColumn(lsp, "addresses")[0];
    const ips = typeof first === "string" ? first.split(" ").slice(1) : [];
    return { network, nad, ips };
  }
  return undefined;
}

/** Why a UDN isolation ACL dropped the packet of (egress) or to (ingress) the pod on `podLsp`. */
export function udnIsolationDrop(
  nb: OvsdbDatabase,
  acl: OvsdbRow,
  podLsp: string | undefined,
): { text: string; objects: KubeObjectRef[] } {
  const ids = externalIds(acl);
  const egress = (ids.direction ?? "").toLowerCase() === "egress";
  const pod = podLsp?.replace("_", "/");
  const net = podLsp === undefined ? undefined : primaryNetworkOf(nb, podLsp);
  const rule = `ovn-kubernetes UDN isolation ACL ${ids["k8s.ovn.org/name"] ?? "?"} (${egress ? "egress" : "ingress"})`;
  const on =
    net === undefined
      ? "a primary user-defined network"
      : `primary user-defined network ${net.network}${net.ips.length === 0 ? "" : ` (its address there: ${net.ips.join(", ")})`}`;
  const who = pod === undefined ? "the pod" : `pod ${pod}`;
  const text = egress
    ? `isolated by its user-defined network: ${who} is on ${on}; its default-network interface may not send to the default network: ${rule}`
    : `isolated by its user-defined network: ${who} is on ${on}; its default-network interface accepts only its node (kubelet probes), not other pods: ${rule}`;
  const namespace = pod?.split("/")[0];
  return {
    text,
    objects: [
      ...(net === undefined ? [] : [userDefinedNetworkRef(net.network, net.nad)]),
      ...(namespace === undefined ? [] : [{ kind: "Namespace", name: namespace }]),
    ],
  };
}
