import type { LabCluster, LabNode } from "./cluster.js";
import { HOST_CT_ZONE } from "./gateway-flows.js";

/**
 * What ovnkube-node adds to a node's breth0 for EgressIPs (pkg/node/bridgeconfig/bridgeflows.go), once a cluster
 * has any: a packet from OVN with pkt_mark 1008 (the no-reroute policy of a served pod's packet to a node IP) is
 * SNATed once more to the node's own IP, so that a served pod on an egress node, whose gateway router SNATed it to
 * the egress IP, reaches other nodes as every other pod does; and what comes in from the uplink goes through
 * conntrack with `nat`, which undoes that SNAT for the replies.
 */
export function egressIPGatewayFlows(
  c: LabCluster,
  n: LabNode,
  uplink: string,
  patchOfport: number,
): string[] {
  if ((c.egressIPs ?? []).length === 0) return [];
  const zone = String(HOST_CT_ZONE);
  const families = [
    { match: "ip", nodeIp: n.ip },
    ...(n.ipv6 === undefined ? [] : [{ match: "ipv6", nodeIp: `[${n.ipv6}]` }]),
  ];
  return families.flatMap(({ match, nodeIp }) => [
    `priority=105,in_port=${String(patchOfport)},${match},pkt_mark=0x3f0,actions=ct(commit,zone=${zone},nat(src=${nodeIp})),output:${uplink}`,
    `priority=51,in_port=${uplink},${match},actions=ct(zone=${zone},nat,table=1)`,
  ]);
}
