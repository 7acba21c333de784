import type { KubeObjectRef } from "./model/report.js";

/**
 * How ovn-kubernetes names user-defined networks and what stands behind them (go-controller/pkg/util/multi_network.go,
 * util.GenerateUDNNetworkName / GenerateCUDNNetworkName): a UserDefinedNetwork `<name>` of namespace `<ns>` is
 * network `<ns>_<name>` with NetworkAttachmentDefinition `<ns>/<name>`; a ClusterUserDefinedNetwork `<name>` is
 * network `cluster_udn_<name>`, with a NAD `<ns>/<name>` in each of its namespaces.
 */

export const CLUSTER_UDN_PREFIX = "cluster_udn_";

/** GetSecondaryNetworkPrefix: the network (or NAD) name with `-` and `/` as `.`, then `_`; it scopes every OVN name. */
export function networkPrefix(name: string): string {
  return `${name.replace(/[-/]/g, ".")}_`;
}

/** The NAD a pod of `namespace` is attached through to `network`; undefined when the network is not one it may be on. */
export function nadOf(network: string, namespace: string): string | undefined {
  if (network.startsWith(CLUSTER_UDN_PREFIX))
    return `${namespace}/${network.slice(CLUSTER_UDN_PREFIX.length)}`;
  return network.startsWith(`${namespace}_`)
    ? `${namespace}/${network.slice(namespace.length + 1)}`
    : undefined;
}

/** The object a network comes from: `cluster_udn_<name>` a ClusterUserDefinedNetwork, else its NAD's UserDefinedNetwork. */
export function userDefinedNetworkRef(network: string, nad: string): KubeObjectRef {
  if (network.startsWith(CLUSTER_UDN_PREFIX))
    return { kind: "ClusterUserDefinedNetwork", name: network.slice(CLUSTER_UDN_PREFIX.length) };
  const [namespace = "", name = ""] = nad.split("/");
  return { kind: "UserDefinedNetwork", namespace, name };
}
