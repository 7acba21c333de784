import { ProcessError } from "../errors.js";
import { describeFailure } from "../cluster/backend.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";
import { run } from "../ovs/exec.js";
import type { Family } from "../net/ip.js";
import type { LabCluster, LabNode } from "./cluster.js";
import { inNetns, type NodeLink } from "./netns.js";
import { EXTERNAL_BRIDGE } from "./northbound.js";

/**
 * A lab node's host network as ovnkube-node leaves it, in the node's network namespace: the management port
 * ovn-k8s-mp0 with the node subnet's management address, routes to the cluster network (and the ETP=local
 * masquerade address) through the node switch's gateway, that gateway's MAC pinned, forwarding on; and the uplink
 * breth0 with the node IP and the default route. The kernel's routing of what OVN hands to the host is then real
 * (`ip route get ... iif ovn-k8s-mp0`). No iptables or nftables: the masquerade of pod egress is not modelled.
 */

const MGMT_LINK = mgmtLinkName(0);
/** ovn-kubernetes' default V4/V6HostETPLocalMasqueradeIP: routed through the management port in both modes. */
const ETP_LOCAL_MASQUERADE: Record<Family, string> = { 4: "169.254.169.3/32", 6: "fd69::3/128" };

/**
 * The links the node's namespace needs besides the management links: the uplink bridge, at a fixed ifindex so that
 * the management links keep theirs (a user-defined network's VRF table id is 1000 + its management link's ifindex).
 */
export const HOST_UPLINK_LINKS: readonly NodeLink[] = [{ name: EXTERNAL_BRIDGE, index: 100 }];

/** `ip -batch` lines (addresses, routes, neighbours) of one node's host network. */
export function hostNetworkBatch(c: LabCluster, n: LabNode): string[] {
  const lines: string[] = [];
  for (const f of c.families) {
    const mgmt = n.mgmtIps[f];
    const gw = n.gatewayCidrs[f]?.split("/");
    const cluster = c.clusterNetwork[f];
    if (mgmt === undefined || gw?.[0] === undefined || cluster === undefined) continue;
    lines.push(`addr add ${mgmt}/${gw[1] ?? ""} dev ${MGMT_LINK}${f === 6 ? " nodad" : ""}`);
    for (const dst of [cluster, ETP_LOCAL_MASQUERADE[f]])
      lines.push(`route add ${dst} via ${gw[0]} dev ${MGMT_LINK}`);
    lines.push(`neigh add ${gw[0]} lladdr ${n.gatewayMac} dev ${MGMT_LINK} nud permanent`);
  }
  const underlayLen = c.underlay.cidr.split("/")[1] ?? "16";
  lines.push(`addr add ${n.ip}/${underlayLen} dev ${EXTERNAL_BRIDGE}`);
  lines.push(`route add 0.0.0.0/0 via ${c.underlay.gateway} dev ${EXTERNAL_BRIDGE}`);
  if (n.ipv6 !== undefined) {
    lines.push(`addr add ${n.ipv6}/64 dev ${EXTERNAL_BRIDGE} nodad`);
    if (c.underlay.gatewayV6 !== undefined)
      lines.push(`route add ::/0 via ${c.underlay.gatewayV6} dev ${EXTERNAL_BRIDGE}`);
  }
  return lines;
}

/** Lets the node's namespace forward (as a node does): the kernel then routes what arrives at ovn-k8s-mp0. */
export async function enableForwarding(netns: string, node: string): Promise<void> {
  const argv = inNetns(netns, [
    "sysctl",
    "-q",
    "-w",
    "net.ipv4.conf.all.forwarding=1",
    "net.ipv6.conf.all.forwarding=1",
  ]);
  const r = await run(argv, { timeoutMs: 10_000 });
  if (r.exitCode !== 0) throw new ProcessError(`host network of node ${node}: ${describeFailure(r)}`);
}
