import { contains, parseCidr, parseIp, type Family } from "../net/ip.js";
import type { LabCluster, LabPod } from "./cluster.js";
import { shareOf } from "./udn-topology.js";

/**
 * How a lab pod sends, as its routes say (k8s.ovn.org/pod-networks): a pod of a primary user-defined network
 * reaches the default cluster network through its default-network interface and everything else through its
 * primary network's; any other pod has only its default-network interface.
 */

/** The interface a pod sends from, with what it needs to address a frame. */
export interface SendingInterface {
  readonly iface: string;
  readonly mac: string;
  readonly ip: string | undefined;
  /** Its on-link subnet and the router port it sends the rest to. */
  readonly subnet: string | undefined;
  readonly gatewayMac: string;
  /** The MAC of a pod reachable on the same link at that address, if any. */
  readonly peerMac: (ip: string) => string | undefined;
}

const inCidr = (cidr: string | undefined, ip: string): boolean => {
  const c = cidr === undefined ? undefined : parseCidr(cidr);
  const a = parseIp(ip);
  return c !== undefined && a !== undefined && contains(c, a);
};

/** The address a pod is reached at from `from`: on their common primary network, else on the default network. */
export function podAddressFrom(from: LabPod, to: LabPod, family: Family): string | undefined {
  const net = from.primaryNetwork?.network;
  return net !== undefined && to.primaryNetwork?.network === net
    ? to.primaryNetwork.ips[family]
    : to.ips[family];
}

export function sendingInterface(
  c: LabCluster,
  pod: LabPod,
  family: Family,
  dstIp: string,
): SendingInterface {
  const node = c.nodes.find((n) => n.name === pod.node);
  const pn = pod.primaryNetwork;
  const topology = c.userDefinedNetworks.find((u) => u.name === pn?.network)?.topology;
  const share = topology === undefined ? undefined : shareOf(topology, pod.node);
  if (pn === undefined || share === undefined || inCidr(c.clusterNetwork[family], dstIp))
    return {
      iface: pod.iface,
      mac: pod.mac,
      ip: pod.ips[family],
      subnet: node?.subnets[family],
      gatewayMac: node?.gatewayMac ?? "",
      peerMac: (ip) => c.pods.find((p) => p.node === pod.node && !p.hostNetwork && p.ips[family] === ip)?.mac,
    };
  return {
    iface: pn.iface,
    mac: pn.mac,
    ip: pn.ips[family],
    subnet: share.subnets[family],
    gatewayMac: share.gatewayMac,
    peerMac: (ip) =>
      c.pods.find((p) => p.primaryNetwork?.network === pn.network && p.primaryNetwork.ips[family] === ip)
        ?.primaryNetwork?.mac,
  };
}

/** Every OVS port of a pod: its default-network one, then its primary network's. */
export const podIfaces = (p: LabPod): string[] => [
  p.iface,
  ...(p.primaryNetwork === undefined ? [] : [p.primaryNetwork.iface]),
];

export const onLink = (s: SendingInterface, ip: string): boolean => inCidr(s.subnet, ip);
