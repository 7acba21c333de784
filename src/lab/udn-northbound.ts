import type { Family } from "../net/ip.js";
import {
  TRANSIT_NETWORK,
  type LabCluster,
  type LabNode,
  type LabPod,
  type LabUserDefinedNetwork,
} from "./cluster.js";
import { TRANSIT_SWITCH_TUNNEL_KEY } from "./northbound.js";
import { dbExternalIds, dbId, hashForOvn, type DbIds } from "./ovnk-names.js";
import { CtlBatch, kv, quote } from "./ovsdb-batch.js";
import {
  layer2SwitchName,
  layer3Names,
  type LabLayer2Topology,
  type LabLayer3Topology,
  type LabPodNetwork,
  type LabUdnNode,
} from "./udn-topology.js";

/**
 * What ovnkube-controller writes into a zone's NB for primary user-defined networks: each layer3 network's cluster
 * router, node switches, pods and (interconnect) transit switch (secondary_layer3_network_controller.go,
 * base_network_controller.go, zone_interconnect/zone_ic_handler.go); and on the default network, the port group
 * and ACLs that cut the pods of those networks off it but for their node's kubelet (pkg/ovn/udn_isolation.go).
 */

const NETWORK = "k8s.ovn.org/network";
const TOPOLOGY = "k8s.ovn.org/topology";
const ROLE = "k8s.ovn.org/role";
const fams = (c: LabCluster): readonly Family[] => c.families;
const prefixLen = (cidr: string): string => cidr.split("/")[1] ?? "";

const topologyOf = (u: LabUserDefinedNetwork): string => u.topology?.kind ?? "layer3";

/** GenerateExternalIDsForSwitchOrRouter of a primary network. */
const networkIds = (u: LabUserDefinedNetwork): string[] => [
  kv("external_ids", NETWORK, u.name),
  kv("external_ids", ROLE, "primary"),
  kv("external_ids", TOPOLOGY, topologyOf(u)),
];

/** The transit switch's (layer3) or the network switch's (layer2) interconnect keys: its tunnel key from the network id. */
const interconnect = (u: LabUserDefinedNetwork, ls: string): string[] => [
  kv("other_config", "interconn-ts", ls),
  kv("other_config", "requested-tnl-key", TRANSIT_SWITCH_TUNNEL_KEY + u.id),
];

function routerPortOnSwitch(b: CtlBatch, ls: string, lsp: string, lrp: string): void {
  b.add("lsp-add", ls, lsp);
  b.add("lsp-set-type", lsp, "router");
  b.add("lsp-set-addresses", lsp, "router");
  b.add("lsp-set-options", lsp, `router-port=${lrp}`);
}

/** Every primary network with a topology: its objects of this zone's nodes, and routes to the other zones'. */
export function userDefinedNetworks(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  for (const u of c.userDefinedNetworks) {
    const t = u.topology;
    if (t?.kind === "layer2") layer2Network(c, u, t, local, b);
    if (t?.kind !== "layer3") continue;
    const names = layer3Names(u.name);
    b.add("lr-add", names.clusterRouter);
    b.add(
      "set",
      "logical_router",
      names.clusterRouter,
      kv("external_ids", "k8s-cluster-router", "yes"),
      kv("external_ids", NETWORK, u.name),
      kv("external_ids", TOPOLOGY, "layer3"),
    );
    if (c.shape === "interconnect") transitSwitch(u, b);
    for (const n of c.nodes) {
      const share = t.nodes.find((x) => x.node === n.name);
      if (share === undefined) continue;
      if (local.has(n.name)) nodeSwitch(c, u, share, b);
      if (c.shape !== "interconnect") continue;
      if (local.has(n.name)) transitPort(c, u, n, b);
      else remoteNode(c, u, t, n, b);
    }
    podPorts(c, u, local, (p) => names.nodeSwitch(p.node), b);
  }
}

/** The network's one switch (in interconnect, its own transit switch) and its pods, those of other zones remote. */
function layer2Network(
  c: LabCluster,
  u: LabUserDefinedNetwork,
  t: LabLayer2Topology,
  local: ReadonlySet<string>,
  b: CtlBatch,
): void {
  const ls = layer2SwitchName(u.name);
  b.add("ls-add", ls);
  b.add("set", "logical_switch", ls, ...networkIds(u));
  if (t.subnets[4] !== undefined)
    b.add("set", "logical_switch", ls, kv("other_config", "subnet", t.subnets[4]));
  if (t.subnets[6] !== undefined)
    b.add("set", "logical_switch", ls, kv("other_config", "ipv6_prefix", t.subnets[6].split("/")[0] ?? ""));
  if (c.shape === "interconnect") b.add("set", "logical_switch", ls, ...interconnect(u, ls));
  podPorts(c, u, local, () => ls, b);
  if (c.shape !== "interconnect") return;
  for (const p of c.pods) {
    const pn = p.primaryNetwork;
    if (pn?.network !== u.name || local.has(p.node)) continue;
    b.add("lsp-add", ls, pn.lsp);
    b.add("lsp-set-type", pn.lsp, "remote");
    b.add("lsp-set-addresses", pn.lsp, portAddresses(c, pn));
    b.add(
      "lsp-set-options",
      pn.lsp,
      `requested-tnl-key=${String(pn.tunnelId ?? 0)}`,
      `requested-chassis=${p.node}`,
    );
    b.add("set", "logical_switch_port", pn.lsp, ...podIds(p, u));
  }
}

const portAddresses = (c: LabCluster, pn: LabPodNetwork): string =>
  [pn.mac, ...fams(c).flatMap((f) => pn.ips[f] ?? [])].join(" ");

/** A pod port's external_ids on a network (base_network_controller_pods.go). */
const podIds = (p: LabPod, u: LabUserDefinedNetwork): string[] => [
  kv("external_ids", "namespace", p.namespace),
  kv("external_ids", "pod", "true"),
  kv("external_ids", NETWORK, u.name),
  kv("external_ids", "k8s.ovn.org/nad", p.primaryNetwork?.nad ?? ""),
  kv("external_ids", TOPOLOGY, topologyOf(u)),
];

/** The node's switch of the network (subnet, router port on the network's cluster router, management port). */
function nodeSwitch(c: LabCluster, u: LabUserDefinedNetwork, n: LabUdnNode, b: CtlBatch): void {
  const names = layer3Names(u.name);
  const ls = names.nodeSwitch(n.node);
  b.add("ls-add", ls);
  b.add("set", "logical_switch", ls, ...networkIds(u));
  const v4 = n.subnets[4];
  if (v4 !== undefined)
    b.add(
      "set",
      "logical_switch",
      ls,
      kv("other_config", "subnet", v4),
      kv("other_config", "exclude_ips", n.mgmtIps[4] ?? ""),
    );
  const v6 = n.subnets[6];
  if (v6 !== undefined)
    b.add("set", "logical_switch", ls, kv("other_config", "ipv6_prefix", v6.split("/")[0] ?? ""));
  b.add(
    "lrp-add",
    names.clusterRouter,
    names.routerToSwitch(n.node),
    n.gatewayMac,
    ...fams(c).flatMap((f) => n.gatewayCidrs[f] ?? []),
  );
  routerPortOnSwitch(b, ls, names.switchToRouter(n.node), names.routerToSwitch(n.node));
  const mgmt = names.mgmtPort(n.node);
  b.add("lsp-add", ls, mgmt);
  b.add("lsp-set-addresses", mgmt, [n.mgmtMac, ...fams(c).flatMap((f) => n.mgmtIps[f] ?? [])].join(" "));
}

/** `<prefix>transit_switch`, keyed BaseTransitSwitchTunnelKey + the network id. */
function transitSwitch(u: LabUserDefinedNetwork, b: CtlBatch): void {
  const ts = layer3Names(u.name).transitSwitch;
  b.add("ls-add", ts);
  b.add("set", "logical_switch", ts, ...networkIds(u), ...interconnect(u, ts));
}

/** The node's transit addresses (the same on every network), with their prefix length. */
const transitCidrs = (c: LabCluster, n: LabNode): string[] =>
  fams(c).flatMap((f) =>
    n.transitIps[f] === undefined ? [] : [`${n.transitIps[f]}/${prefixLen(TRANSIT_NETWORK[f])}`],
  );

function transitPort(c: LabCluster, u: LabUserDefinedNetwork, n: LabNode, b: CtlBatch): void {
  const names = layer3Names(u.name);
  const rtots = names.routerToTransit(n.name);
  b.add("lrp-add", names.clusterRouter, rtots, n.transitMac, ...transitCidrs(c, n));
  b.add("set", "logical_router_port", rtots, kv("options", "mcast_flood", "true"));
  const tstor = names.transitToRouter(n.name);
  routerPortOnSwitch(b, names.transitSwitch, tstor, rtots);
  b.add("lsp-set-options", tstor, `router-port=${rtots}`, `requested-tnl-key=${n.nodeId}`);
  b.add("set", "logical_switch_port", tstor, kv("external_ids", "node", n.name));
}

/** Another zone's node: its remote transit port and a route to its share of the network. */
function remoteNode(
  c: LabCluster,
  u: LabUserDefinedNetwork,
  t: LabLayer3Topology,
  n: LabNode,
  b: CtlBatch,
): void {
  const names = layer3Names(u.name);
  const tstor = names.transitToRouter(n.name);
  b.add("lsp-add", names.transitSwitch, tstor);
  b.add("lsp-set-type", tstor, "remote");
  b.add("lsp-set-addresses", tstor, [n.transitMac, ...transitCidrs(c, n)].join(" "));
  b.add("lsp-set-options", tstor, `requested-tnl-key=${n.nodeId}`, `requested-chassis=${n.name}`);
  b.add("set", "logical_switch_port", tstor, kv("external_ids", "node", n.name));
  const share = t.nodes.find((x) => x.node === n.name);
  for (const f of fams(c)) {
    const sub = share?.subnets[f];
    const via = n.transitIps[f];
    if (sub === undefined || via === undefined) continue;
    const id = `@u${u.id}r${f}_${n.nodeId}`;
    b.add(
      `--id=${id}`,
      "create",
      "logical_router_static_route",
      `ip_prefix=${quote(sub)}`,
      `nexthop=${quote(via)}`,
      kv("external_ids", "ic-node", n.name),
    );
    b.add("add", "logical_router", names.clusterRouter, "static_routes", id);
  }
}

/**
 * The network's ports of this zone's pods, on the switch `switchOf` names, with the network's external_ids; on an
 * interconnect layer2 network also their tunnel key (AddTransitPortConfig), which the other zones' remote ports share.
 */
function podPorts(
  c: LabCluster,
  u: LabUserDefinedNetwork,
  local: ReadonlySet<string>,
  switchOf: (p: LabPod) => string,
  b: CtlBatch,
): void {
  for (const p of c.pods) {
    const pn = p.primaryNetwork;
    if (pn?.network !== u.name || !local.has(p.node)) continue;
    const addrs = portAddresses(c, pn);
    b.add("lsp-add", switchOf(p), pn.lsp);
    b.add("lsp-set-addresses", pn.lsp, addrs);
    b.add("lsp-set-port-security", pn.lsp, addrs);
    const key = c.shape === "interconnect" && pn.tunnelId !== undefined ? pn.tunnelId : undefined;
    b.add(
      "set",
      "logical_switch_port",
      pn.lsp,
      kv("options", "requested-chassis", p.node),
      kv("options", "iface-id-ver", p.uid),
      ...(key === undefined ? [] : [kv("options", "requested-tnl-key", key)]),
      ...podIds(p, u),
    );
  }
}

/** The default network's port group of pods whose primary network is another one (getSecondaryPodsPortGroupDbIDs). */
export const SECONDARY_PODS_PORT_GROUP: DbIds = {
  ownerType: "UDNIsolation",
  keys: [["k8s.ovn.org/name", "SecondaryPods"]],
};

/** A UDN isolation ACL's ids (getUDNACLDbIDs): its name and direction. */
const aclIds = (name: string, direction: "Ingress" | "Egress"): DbIds => ({
  ownerType: "UDNIsolation",
  keys: [
    ["k8s.ovn.org/name", name],
    ["direction", direction],
  ],
});

/**
 * setupUDNACLs: the default-network ports of this zone's pods on a primary user-defined network in one port group,
 * with ACLs that drop everything to and from them but ARP with, and connections from, the node's management port.
 * The ACLs are one set per zone; on a central cluster ovnkube-controller writes them once per node, each time
 * with that node's management port addresses, so the last node's are the ones left: here the zone's last.
 */
export function udnIsolation(c: LabCluster, local: readonly LabNode[], b: CtlBatch): void {
  const members = c.pods.filter(
    (p) => p.primaryNetwork !== undefined && local.some((n) => n.name === p.node),
  );
  const mgmt = local.at(-1);
  if (!c.userDefinedNetworks.some((u) => u.topology !== undefined) || mgmt === undefined) return;
  const pg = hashForOvn(dbId(SECONDARY_PODS_PORT_GROUP));
  b.add("pg-add", pg, ...members.map((p) => p.lsp));
  b.add(
    "set",
    "port_group",
    pg,
    ...Object.entries(dbExternalIds(SECONDARY_PODS_PORT_GROUP)).map(([k, v]) => kv("external_ids", k, v)),
  );
  const ips = fams(c).flatMap((f) => (mgmt.mgmtIps[f] === undefined ? [] : [[f, mgmt.mgmtIps[f]] as const]));
  const arp = (dir: "t" | "s"): string =>
    `(${ips.map(([f, ip]) => (f === 6 ? `( nd && nd.target == ${ip} )` : `( arp && arp.${dir}pa == ${ip} )`)).join(" || ")})`;
  const fromMgmt = `(${ips.map(([f, ip]) => `ip${f}.src==${ip}`).join(" || ")})`;
  const acls: [DbIds, number, string, string, "Ingress" | "Egress"][] = [
    [aclIds("DenySecondary", "Egress"), 1000, `inport == @${pg}`, "drop", "Egress"],
    [aclIds("AllowHostARPSecondary", "Egress"), 1001, `inport == @${pg} && ${arp("t")}`, "allow", "Egress"],
    [
      aclIds("AllowHostARPSecondary", "Ingress"),
      1001,
      `outport == @${pg} && ${arp("s")}`,
      "allow",
      "Ingress",
    ],
    [aclIds("DenySecondary", "Ingress"), 1000, `outport == @${pg}`, "drop", "Ingress"],
    [
      aclIds("AllowHostSecondary", "Ingress"),
      1001,
      `outport == @${pg} && ${fromMgmt}`,
      "allow-related",
      "Ingress",
    ],
  ];
  for (const [i, [ids, priority, match, action, dir]] of acls.entries()) {
    const id = `@udnacl${i}`;
    b.add(
      `--id=${id}`,
      "create",
      "acl",
      `priority=${priority}`,
      `direction=${dir === "Ingress" ? "to-lport" : "from-lport"}`,
      `match=${quote(match)}`,
      `action=${action}`,
      "log=false",
      ...Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v)),
    );
    b.add("add", "port_group", pg, "acls", id);
  }
}

/** A remote node's ports on the networks with a topology: transit switch ports, layer2 pods (bound to its chassis). */
export const remoteNetworkPorts = (c: LabCluster, node: string): string[] => [
  ...c.userDefinedNetworks.flatMap((u) =>
    u.topology?.kind === "layer3" ? [layer3Names(u.name).transitToRouter(node)] : [],
  ),
  ...c.pods.flatMap((p) =>
    p.node === node && p.primaryNetwork?.tunnelId !== undefined ? [p.primaryNetwork.lsp] : [],
  ),
];
