import type { ClusterBackend } from "../cluster/backend.js";
import type { NodeObject, PodObject } from "../cluster/kube-objects.js";
import { InputError } from "../errors.js";
import type { Family } from "../model/report.js";
import type { Resolution, ResolvedPod, ResolvedPodNetwork } from "../model/target.js";
import { contains, formatCidr, macFromIp, parseCidr, parseIp } from "../net/ip.js";
import { CLUSTER_UDN_PREFIX, networkPrefix } from "../udn-names.js";

/**
 * Pods of a namespace with a primary user-defined network (ovn-kubernetes network segmentation) have two
 * interfaces, both in k8s.ovn.org/pod-networks: the default network's (role `infrastructure-locked`, routes to the
 * cluster network only) and the user-defined network's (role `primary`, keyed by its NetworkAttachmentDefinition,
 * with the default route). A packet leaves through the interface the pod's routes choose for its destination, and a
 * pod is reached on the network it shares with the sender: two pods of the same user-defined network talk on it;
 * anyone else reaches the pod at its default-network address (status.podIPs), where ovn-kubernetes isolates it.
 */

interface PodNetworkEntry {
  readonly ip_addresses?: readonly string[];
  readonly mac_address?: string;
  readonly gateway_ips?: readonly string[];
  readonly routes?: readonly { readonly dest?: string; readonly nextHop?: string }[];
  readonly role?: string;
}

const POD_NETWORKS = "k8s.ovn.org/pod-networks";
const NODE_SUBNETS = "k8s.ovn.org/node-subnets";
const NETWORK_IDS = "k8s.ovn.org/network-ids";
const DEFAULT_NETWORK = "default";

function annotation(o: { metadata?: { annotations?: Record<string, string> } }, key: string): unknown {
  const text = o.metadata?.annotations?.[key];
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new InputError(`annotation ${key} is not valid JSON`);
  }
}

const entries = (pod: PodObject): Record<string, PodNetworkEntry> =>
  (annotation(pod, POD_NETWORKS) as Record<string, PodNetworkEntry> | undefined) ?? {};

/** The pod's entry of its primary user-defined network (NAD and entry), if it has one. */
function primaryEntry(pod: PodObject): [string, PodNetworkEntry] | undefined {
  return Object.entries(entries(pod)).find(([nad, e]) => nad !== DEFAULT_NETWORK && e.role === "primary");
}

const family = (ip: string): Family | undefined => parseIp(ip)?.family;

/**
 * The network a NAD `<namespace>/<name>` attaches to, among those the node knows (its subnets, its network ids): a
 * UserDefinedNetwork's `<namespace>_<name>` or a ClusterUserDefinedNetwork's `cluster_udn_<name>`.
 */
function networkOfNad(node: NodeObject, nad: string): string | undefined {
  const [namespace = "", name = ""] = nad.split("/");
  const known = [NODE_SUBNETS, NETWORK_IDS].flatMap((key) =>
    Object.keys((annotation(node, key) as Record<string, unknown> | undefined) ?? {}),
  );
  return [`${namespace}_${name}`, `${CLUSTER_UDN_PREFIX}${name}`].find((n) => known.includes(n));
}

/** The pod on its primary network, in one family; undefined when it has none (or no address of that family). */
async function onPrimaryNetwork(
  b: ClusterBackend,
  p: ResolvedPod,
  fam: Family,
): Promise<ResolvedPod | undefined> {
  if (p.hostNetwork) return undefined;
  const primary = primaryEntry(await b.readPod(p.namespace, p.name));
  if (primary === undefined) return undefined;
  const [nad, e] = primary;
  const cidr = (e.ip_addresses ?? []).find((x) => family(x.split("/")[0] ?? "") === fam);
  const gateway = (e.gateway_ips ?? []).find((x) => family(x) === fam);
  const subnet = cidr === undefined ? undefined : parseCidr(cidr);
  const gatewayIp = gateway === undefined ? undefined : parseIp(gateway);
  // a node that names neither (objects derived from a central cluster's OVN databases, which hold no network ids):
  // the NAD stands for the network, right but for a ClusterUserDefinedNetwork's other namespaces
  const name = networkOfNad(await b.readNode(p.node), nad) ?? nad;
  if (cidr === undefined || subnet === undefined) return undefined;
  const network: ResolvedPodNetwork = {
    name,
    nad,
    subnet: formatCidr(subnet),
    ...(gatewayIp === undefined ? {} : { gatewayMac: macFromIp(gatewayIp) }),
  };
  return {
    ...p,
    ip: cidr.split("/")[0] ?? "",
    mac: (e.mac_address ?? "").toLowerCase(),
    lsp: `${networkPrefix(nad)}${p.namespace}_${p.name}`,
    network,
  };
}

/** Whether the pod's routes send a packet to `dstIp` out of its default-network interface. */
function routedToDefault(pod: PodObject, dstIp: string): boolean {
  const ip = parseIp(dstIp);
  const def = entries(pod)[DEFAULT_NETWORK];
  if (ip === undefined || def === undefined) return false;
  const prefixes = [...(def.routes ?? []).map((r) => r.dest ?? ""), ...(def.ip_addresses ?? [])];
  return prefixes.some((x) => {
    const c = parseCidr(x);
    return c !== undefined && contains(c, ip);
  });
}

/**
 * Source and destination on the networks a real packet uses: the destination on the source's primary network when
 * both are on it, and the source on its primary network unless its routes send the packet to the default network.
 */
export async function alongPrimaryNetworks(
  b: ClusterBackend,
  fam: Family,
  src: ResolvedPod,
  dst: Resolution["dst"],
): Promise<{ src: ResolvedPod; dst: Resolution["dst"] }> {
  const srcOn = await onPrimaryNetwork(b, src, fam);
  if (srcOn === undefined) return { src, dst };
  const dstOn = dst.kind === "pod" ? await onPrimaryNetwork(b, dst, fam) : undefined;
  const to = dstOn !== undefined && dstOn.network?.name === srcOn.network?.name ? dstOn : dst;
  const viaDefault = routedToDefault(await b.readPod(src.namespace, src.name), to.ip);
  return { src: viaDefault ? src : srcOn, dst: to };
}
