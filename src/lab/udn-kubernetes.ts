import type { Family } from "../net/ip.js";
import type { LabCluster, LabNode, LabPod } from "./cluster.js";
import { CLUSTER_UDN_PREFIX } from "../udn-names.js";
import { shareOf } from "./udn-topology.js";

/**
 * What the API server shows of primary user-defined networks: each node's share of a layer3 network in
 * `k8s.ovn.org/node-subnets` (keyed by network name, as cluster-manager writes it), and a pod's interface on it in
 * `k8s.ovn.org/pod-networks` (keyed by its NetworkAttachmentDefinition, role `primary`; the default network's entry
 * becomes `infrastructure-locked`: routes to the cluster network only, no default route; pkg/util/pod_annotation.go).
 */

const fams = (c: LabCluster): readonly Family[] => c.families;
const len = (cidr: string | undefined): string => cidr?.split("/")[1] ?? "";

/** The node's subnets of every network with a topology, by network name. */
export function udnNodeSubnets(c: LabCluster, n: LabNode): Record<string, string[]> {
  return Object.fromEntries(
    c.userDefinedNetworks.flatMap((u) => {
      const share =
        u.topology?.kind === "layer3" ? u.topology.nodes.find((x) => x.node === n.name) : undefined;
      return share === undefined ? [] : [[u.name, fams(c).flatMap((f) => share.subnets[f] ?? [])]];
    }),
  );
}

/** The role of the pod's default-network entry: `infrastructure-locked` when another network is its primary one. */
export const defaultNetworkRole = (p: LabPod): string =>
  p.primaryNetwork === undefined ? "primary" : "infrastructure-locked";

/** The pod's entry for its primary user-defined network, keyed by its NetworkAttachmentDefinition; none without one. */
export function primaryNetworkEntry(c: LabCluster, p: LabPod): Record<string, unknown> {
  const pn = p.primaryNetwork;
  const u = c.userDefinedNetworks.find((x) => x.name === pn?.network);
  const share = u?.topology === undefined ? undefined : shareOf(u.topology, p.node);
  if (pn === undefined || u?.topology === undefined || share === undefined) return {};
  const f = fams(c).filter((x) => pn.ips[x] !== undefined);
  const withLen = f.map((x) => `${pn.ips[x] ?? ""}/${len(share.subnets[x])}`);
  const gateways = f.map((x) => share.gatewayIps[x] ?? "");
  return {
    [pn.nad]: {
      ip_addresses: withLen,
      mac_address: pn.mac,
      gateway_ips: gateways,
      // layer3: the network's other nodes are behind the gateway; layer2: the whole network is on-link
      routes: f.flatMap((x, i) => {
        const dest = u.topology?.kind === "layer3" ? u.topology.subnets[x] : undefined;
        return dest === undefined ? [] : [{ dest, nextHop: gateways[i] }];
      }),
      ...(withLen.length === 1 ? { ip_address: withLen[0], gateway_ip: gateways[0] } : {}),
      ...(pn.tunnelId === undefined ? {} : { tunnel_id: pn.tunnelId }),
      role: "primary",
    },
  };
}

/**
 * The UserDefinedNetwork (`<namespace>_<name>`) or ClusterUserDefinedNetwork (`cluster_udn_<name>`, selecting its
 * namespaces by name) of each network with a topology (k8s.ovn.org/v1), as the API serves them.
 */
export function userDefinedNetworkObjects(c: LabCluster): Record<string, unknown>[] {
  return c.userDefinedNetworks.flatMap((u): Record<string, unknown>[] => {
    const t = u.topology;
    if (t === undefined) return [];
    const cidrs = fams(c).flatMap((f) => t.subnets[f] ?? []);
    const network =
      t.kind === "layer3"
        ? {
            topology: "Layer3",
            layer3: {
              role: "Primary",
              subnets: cidrs.map((cidr) => ({
                cidr,
                hostSubnet: Number(len(t.nodes[0]?.subnets[cidr.includes(":") ? 6 : 4])),
              })),
            },
          }
        : { topology: "Layer2", layer2: { role: "Primary", subnets: cidrs } };
    const status = {
      conditions: [{ type: "NetworkCreated", status: "True", reason: "NetworkAttachmentDefinitionCreated" }],
    };
    if (u.name.startsWith(CLUSTER_UDN_PREFIX))
      return [
        {
          apiVersion: "k8s.ovn.org/v1",
          kind: "ClusterUserDefinedNetwork",
          metadata: { name: u.name.slice(CLUSTER_UDN_PREFIX.length), uid: `cudn-${u.name}` },
          spec: {
            namespaceSelector: {
              matchExpressions: [
                { key: "kubernetes.io/metadata.name", operator: "In", values: u.namespaces },
              ],
            },
            network,
          },
          status,
        },
      ];
    const [namespace = ""] = u.namespaces;
    return [
      {
        apiVersion: "k8s.ovn.org/v1",
        kind: "UserDefinedNetwork",
        metadata: { name: u.name.slice(namespace.length + 1), namespace, uid: `udn-${u.name}` },
        spec: network,
        status,
      },
    ];
  });
}
