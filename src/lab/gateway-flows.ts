import type { LabCluster } from "./cluster.js";

/**
 * The OpenFlow rules ovnkube-node installs on the shared gateway bridge (breth0) of a node, as its shared-gateway
 * node port watcher and default bridge flows do: a NodePort arriving on the uplink goes to OVN (the gateway router's
 * load balancer); what OVN sends out is committed in conntrack zone 64000, so that replies arriving on the uplink
 * (to a pod's SNATed connection) go back to OVN; every other packet to the node goes to the host. Without them
 * NORMAL sends everything addressed to the node's MAC (which the gateway router shares) to whichever port learned
 * it last, the host as often as OVN. IPv4 (the lab's underlay).
 */

/** ovnkube-node's conntrack zone on the gateway bridge. */
export const HOST_CT_ZONE = 64000;

/** The flows of one node's gateway bridge, for `ovs-ofctl add-flows` (`uplink`: its OVS port name). */
export function sharedGatewayFlows(c: LabCluster, uplink: string, patchOfport: number): string[] {
  const patch = String(patchOfport);
  const nodePorts = c.services.flatMap((s) =>
    s.type === "NodePort"
      ? s.ports.flatMap((p) => (p.nodePort === undefined ? [] : [{ proto: p.protocol, port: p.nodePort }]))
      : [],
  );
  const seen = new Set<string>();
  const nodePortFlows = nodePorts.flatMap(({ proto, port }) => {
    const key = `${proto}/${String(port)}`;
    if (seen.has(key)) return [];
    seen.add(key);
    return [
      `priority=100,in_port=${uplink},${proto.toLowerCase()},tp_dst=${String(port)},actions=output:${patch}`,
    ];
  });
  return [
    ...nodePortFlows,
    `priority=100,in_port=${patch},ip,actions=ct(commit,zone=${String(HOST_CT_ZONE)}),output:${uplink}`,
    `priority=50,in_port=${uplink},ip,actions=ct(zone=${String(HOST_CT_ZONE)},table=1)`,
    `table=1,priority=100,ct_state=+trk+est,ip,actions=output:${patch}`,
    `table=1,priority=100,ct_state=+trk+rel,ip,actions=output:${patch}`,
    "table=1,priority=0,actions=output:LOCAL",
  ];
}
