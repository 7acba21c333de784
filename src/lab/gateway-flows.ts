import type { LabCluster } from "./cluster.js";

/**
 * The OpenFlow rules ovnkube-node installs on the shared gateway bridge (breth0) of a node, as its shared-gateway
 * node port watcher and default bridge flows do: a NodePort arriving on the uplink goes to OVN (the gateway router's
 * load balancer); what OVN sends out is committed in conntrack zone 64000, so that replies arriving on the uplink
 * (to a pod's SNATed connection) go back to OVN; every other packet to the node goes to the host. Without them
 * NORMAL sends everything addressed to the node's MAC (which the gateway router shares) to whichever port learned
 * it last, the host as often as OVN. Both families where the nodes have IPv6 addresses (ovnkube-node's IPv6 mode):
 * the same flows for `ipv6` and `tcp6`/`udp6`, and neighbour discovery as ovnkube-node lets it through: neighbour
 * and router advertisements flooded (conntrack makes no entry for them), solicitations (multicast) switched NORMAL.
 */

/** ovnkube-node's conntrack zone on the gateway bridge. */
export const HOST_CT_ZONE = 64000;

/** The flows of one node's gateway bridge, for `ovs-ofctl add-flows` (`uplink`: its OVS port name). */
export function sharedGatewayFlows(c: LabCluster, uplink: string, patchOfport: number): string[] {
  const patch = String(patchOfport);
  const zone = String(HOST_CT_ZONE);
  const ipv6 = c.families.includes(6) && c.nodes.some((n) => n.ipv6 !== undefined);
  const families = ipv6 ? (["ip", "ipv6"] as const) : (["ip"] as const);
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
    const l4 = proto.toLowerCase();
    return (ipv6 ? [l4, `${l4}6`] : [l4]).map(
      (m) => `priority=100,in_port=${uplink},${m},tp_dst=${String(port)},actions=output:${patch}`,
    );
  });
  return [
    ...nodePortFlows,
    ...families.flatMap((f) => [
      `priority=100,in_port=${patch},${f},actions=ct(commit,zone=${zone}),output:${uplink}`,
      `priority=50,in_port=${uplink},${f},actions=ct(zone=${zone},table=1)`,
      `table=1,priority=100,ct_state=+trk+est,${f},actions=output:${patch}`,
      `table=1,priority=100,ct_state=+trk+rel,${f},actions=output:${patch}`,
    ]),
    ...(ipv6
      ? [
          // ICMPv6 router (134) and neighbour (136) advertisements: to OVN and the host alike
          "table=1,priority=14,icmp6,icmp_type=134,actions=FLOOD",
          "table=1,priority=14,icmp6,icmp_type=136,actions=FLOOD",
          // neighbour solicitations (to a solicited-node multicast address): switched, as ovnkube-node's NORMAL
          "table=1,priority=10,ipv6,dl_dst=01:00:00:00:00:00/01:00:00:00:00:00,actions=NORMAL",
        ]
      : []),
    "table=1,priority=0,actions=output:LOCAL",
  ];
}
