import type { Family } from "../net/ip.js";
import {
  JOIN_NETWORK,
  TRANSIT_NETWORK,
  type ByFamily,
  type LabCluster,
  type LabNode,
  type LabService,
} from "./cluster.js";
import { CtlBatch, kv, quote } from "./ovsdb-batch.js";
import { serviceLoadBalancers, type ServiceLoadBalancer } from "./service-load-balancers.js";

/** What ovnkube-controller writes into a zone's NB database, as ovn-nbctl transactions. */

export const CLUSTER_ROUTER = "ovn_cluster_router";
export const JOIN_SWITCH = "join";
export const TRANSIT_SWITCH = "transit_switch";
/** ovn-kubernetes' BaseTransitSwitchTunnelKey + network id 0. */
export const TRANSIT_SWITCH_TUNNEL_KEY = 16711683;
export const PHYSNET = "physnet";
export const EXTERNAL_BRIDGE = "breth0";

const fams = (c: LabCluster): readonly Family[] => c.families;
const prefixLen = (cidr: string): string => cidr.split("/")[1] ?? "";
/** The cluster router's port on the join switch (rtoj-ovn_cluster_router): its addresses and MAC. */
export const joinRouterIp = (f: Family): string => (f === 4 ? "100.64.0.1" : "fd98::1");
export const JOIN_ROUTER_MAC = "0a:58:64:40:00:01";
const v6Prefix = (subnet: string): string => subnet.split("/")[0] ?? "";

/** The cluster router, its join side, and the transit switch in interconnect mode. */
export function clusterRouter(c: LabCluster, b: CtlBatch): void {
  b.add("lr-add", CLUSTER_ROUTER);
  b.add(
    "set",
    "logical_router",
    CLUSTER_ROUTER,
    kv("external_ids", "k8s-cluster-router", "yes"),
    kv("external_ids", "k8s-ovn-topo-version", 13),
  );
  b.add("ls-add", JOIN_SWITCH);
  b.add(
    "lrp-add",
    CLUSTER_ROUTER,
    `rtoj-${CLUSTER_ROUTER}`,
    JOIN_ROUTER_MAC,
    ...fams(c).map((f) => `${joinRouterIp(f)}/${prefixLen(JOIN_NETWORK[f])}`),
  );
  routerPortOnSwitch(b, JOIN_SWITCH, `jtor-${CLUSTER_ROUTER}`, `rtoj-${CLUSTER_ROUTER}`);
  if (c.shape === "interconnect") {
    b.add("ls-add", TRANSIT_SWITCH);
    b.add(
      "set",
      "logical_switch",
      TRANSIT_SWITCH,
      kv("other_config", "interconn-ts", TRANSIT_SWITCH),
      kv("other_config", "requested-tnl-key", TRANSIT_SWITCH_TUNNEL_KEY),
      kv("other_config", "mcast_snoop", "true"),
      kv("other_config", "mcast_querier", "false"),
      kv("other_config", "mcast_flood_unregistered", "true"),
    );
  }
}

function routerPortOnSwitch(b: CtlBatch, ls: string, lsp: string, lrp: string): void {
  b.add("lsp-add", ls, lsp);
  b.add("lsp-set-type", lsp, "router");
  b.add("lsp-set-addresses", lsp, "router");
  b.add("lsp-set-options", lsp, `router-port=${lrp}`);
}

/** A node's addresses of each family the cluster has, with the prefix length of their network. */
const withPrefixes = (c: LabCluster, ips: ByFamily<string>, network: Record<Family, string>): string[] =>
  fams(c).flatMap((x) => (ips[x] === undefined ? [] : [`${ips[x]}/${prefixLen(network[x])}`]));

/** Node switch, management port, gateway router and external switch of a node of this zone. */
export function localNode(c: LabCluster, n: LabNode, b: CtlBatch): void {
  nodeSwitch(c, n, b);
  gatewayRouter(c, n, b);
  externalSwitch(c, n, b);
  gatewayRouting(c, n, b);
  if (c.shape === "interconnect") transitPort(c, n, b);
}

/** The node's logical switch with its pod subnets, linked to the cluster router, and its management port. */
function nodeSwitch(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const f = fams(c);
  b.add("ls-add", n.name);
  if (n.subnets[4] !== undefined)
    b.add("set", "logical_switch", n.name, kv("other_config", "subnet", n.subnets[4]));
  if (n.subnets[6] !== undefined)
    b.add("set", "logical_switch", n.name, kv("other_config", "ipv6_prefix", v6Prefix(n.subnets[6])));
  b.add(
    "lrp-add",
    CLUSTER_ROUTER,
    `rtos-${n.name}`,
    n.gatewayMac,
    ...f.flatMap((x) => n.gatewayCidrs[x] ?? []),
  );
  routerPortOnSwitch(b, n.name, `stor-${n.name}`, `rtos-${n.name}`);
  const mgmt = `k8s-${n.name}`;
  b.add("lsp-add", n.name, mgmt);
  b.add("lsp-set-addresses", mgmt, [n.mgmtMac, ...f.flatMap((x) => n.mgmtIps[x] ?? [])].join(" "));
}

/** Gateway router (shared gateway mode), bound to the node's chassis, on the join switch. */
function gatewayRouter(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const gr = `GR_${n.name}`;
  b.add("lr-add", gr);
  b.add(
    "set",
    "logical_router",
    gr,
    kv("options", "chassis", n.chassisId),
    kv("options", "lb_force_snat_ip", "router_ip"),
    kv("options", "snat-ct-zone", 0),
    kv("options", "always_learn_from_arp_request", "false"),
    kv("options", "dynamic_neigh_routers", "true"),
    kv("external_ids", "physical_ip", n.ip),
    kv("external_ids", "physical_ips", [n.ip, ...(n.ipv6 === undefined ? [] : [n.ipv6])].join(",")),
  );
  b.add("lrp-add", gr, `rtoj-${gr}`, n.joinMac, ...withPrefixes(c, n.joinIps, JOIN_NETWORK));
  routerPortOnSwitch(b, JOIN_SWITCH, `jtor-${gr}`, `rtoj-${gr}`);
}

/** ext_<node>: the gateway router's uplink, and the localnet port to breth0. */
function externalSwitch(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const gr = `GR_${n.name}`;
  const ext = `ext_${n.name}`;
  b.add("ls-add", ext);
  // rtoe-GR_<node> carries the node IP and breth0's MAC, as in ovn-kubernetes' shared gateway.
  const underlayLen = prefixLen(c.underlay.cidr);
  b.add(
    "lrp-add",
    gr,
    `rtoe-${gr}`,
    n.mac,
    `${n.ip}/${underlayLen}`,
    ...(n.ipv6 === undefined ? [] : [`${n.ipv6}/64`]),
  );
  routerPortOnSwitch(b, ext, `etor-${gr}`, `rtoe-${gr}`);
  const localnet = `${EXTERNAL_BRIDGE}_${n.name}`;
  b.add("lsp-add", ext, localnet);
  b.add("lsp-set-type", localnet, "localnet");
  b.add("lsp-set-addresses", localnet, "unknown");
  b.add("lsp-set-options", localnet, `network_name=${PHYSNET}`);
}

/** Routes between the cluster router and the gateway router, the default route out, and SNAT. */
function gatewayRouting(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const gr = `GR_${n.name}`;
  for (const x of fams(c)) {
    const net = c.clusterNetwork[x];
    if (net === undefined) continue;
    b.add("lr-route-add", gr, net, joinRouterIp(x));
    const sub = n.subnets[x];
    // Local gateway mode (ovnkube-controller's management port sync): the node's pods leave through its host.
    const via = c.gatewayMode === "local" ? n.mgmtIps[x] : n.joinIps[x];
    if (sub !== undefined && via !== undefined)
      b.add("--policy=src-ip", "lr-route-add", CLUSTER_ROUTER, sub, via);
  }
  // ovn-kubernetes' priority-1004 policies: pod traffic to this node's own IPs goes to the host
  // through the management port, not into the gateway router (which owns those IPs).
  for (const [fam, hostIp] of [
    [4, n.ip],
    [6, n.ipv6],
  ] as const) {
    const mgmt = n.mgmtIps[fam];
    if (hostIp === undefined || mgmt === undefined) continue;
    b.add(
      "lr-policy-add",
      CLUSTER_ROUTER,
      "1004",
      `inport == "rtos-${n.name}" && ip${fam}.dst == ${hostIp} /* ${n.name} */`,
      "reroute",
      mgmt,
    );
  }
  b.add("lr-route-add", gr, "0.0.0.0/0", c.underlay.gateway, `rtoe-${gr}`);
  if (c.clusterNetwork[4] !== undefined) b.add("lr-nat-add", gr, "snat", n.ip, c.clusterNetwork[4]);
  if (n.ipv6 !== undefined && c.clusterNetwork[6] !== undefined) {
    if (c.underlay.gatewayV6 !== undefined)
      b.add("lr-route-add", gr, "::/0", c.underlay.gatewayV6, `rtoe-${gr}`);
    b.add("lr-nat-add", gr, "snat", n.ipv6, c.clusterNetwork[6]);
  }
}

/** Interconnect: the cluster router's port on the transit switch, keyed by the node id. */
function transitPort(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const rtots = `rtots-${n.name}`;
  b.add("lrp-add", CLUSTER_ROUTER, rtots, n.transitMac, ...withPrefixes(c, n.transitIps, TRANSIT_NETWORK));
  b.add("set", "logical_router_port", rtots, kv("options", "mcast_flood", "true"));
  const tstor = `tstor-${n.name}`;
  routerPortOnSwitch(b, TRANSIT_SWITCH, tstor, rtots);
  b.add("lsp-set-options", tstor, `router-port=${rtots}`, `requested-tnl-key=${n.nodeId}`);
  b.add("set", "logical_switch_port", tstor, kv("external_ids", "node", n.name));
}

/** A node of another zone, as the local zone sees it: a remote transit port and routes to its pods. */
export function remoteNode(c: LabCluster, n: LabNode, b: CtlBatch): void {
  const tstor = `tstor-${n.name}`;
  const f = fams(c);
  b.add("lsp-add", TRANSIT_SWITCH, tstor);
  b.add("lsp-set-type", tstor, "remote");
  b.add(
    "lsp-set-addresses",
    tstor,
    [n.transitMac, ...withPrefixes(c, n.transitIps, TRANSIT_NETWORK)].join(" "),
  );
  b.add("lsp-set-options", tstor, `requested-tnl-key=${n.nodeId}`, `requested-chassis=${n.name}`);
  b.add("set", "logical_switch_port", tstor, kv("external_ids", "node", n.name));
  for (const x of f) {
    const sub = n.subnets[x];
    const via = n.transitIps[x];
    if (sub === undefined || via === undefined) continue;
    const id = `@r${x}_${n.nodeId}`;
    b.add(
      `--id=${id}`,
      "create",
      "logical_router_static_route",
      `ip_prefix=${quote(sub)}`,
      `nexthop=${quote(via)}`,
      kv("external_ids", "ic-node", n.name),
      kv("external_ids", "k8s.ovn.org/network", "default"),
      kv("external_ids", "k8s.ovn.org/topology", "layer3"),
    );
    b.add("add", "logical_router", CLUSTER_ROUTER, "static_routes", id);
    // ovnkube-controller's zone IC handler also routes to the remote node's gateway router join IP through the
    // transit switch: replies to traffic its gateway router SNATed to that IP (a NodePort's backends) go back there.
    const gr = n.joinIps[x];
    if (gr === undefined) continue;
    const grId = `@g${x}_${n.nodeId}`;
    b.add(
      `--id=${grId}`,
      "create",
      "logical_router_static_route",
      `ip_prefix=${quote(`${gr}/${x === 4 ? "32" : "128"}`)}`,
      `nexthop=${quote(via)}`,
      kv("external_ids", "ic-node", n.name),
      kv("external_ids", "k8s.ovn.org/network", "default"),
      kv("external_ids", "k8s.ovn.org/topology", "layer3"),
    );
    b.add("add", "logical_router", CLUSTER_ROUTER, "static_routes", grId);
  }
}

/** Pod logical switch ports of this zone's nodes. */
export function pods(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  for (const p of c.pods) {
    if (p.hostNetwork || !local.has(p.node)) continue;
    const addrs = [p.mac, ...c.families.flatMap((f) => p.ips[f] ?? [])].join(" ");
    b.add("lsp-add", p.node, p.lsp);
    b.add("lsp-set-addresses", p.lsp, addrs);
    b.add("lsp-set-port-security", p.lsp, addrs);
    b.add(
      "set",
      "logical_switch_port",
      p.lsp,
      kv("options", "requested-chassis", p.node),
      kv("options", "iface-id-ver", p.uid),
      kv("external_ids", "namespace", p.namespace),
      kv("external_ids", "pod", "true"),
    );
  }
}

export const LB_GROUPS = {
  cluster: "clusterLBGroup",
  switch: "clusterSwitchLBGroup",
  router: "clusterRouterLBGroup",
} as const;

function createLb(b: CtlBatch, id: string, svc: LabService, lb: ServiceLoadBalancer): void {
  b.add(
    `--id=${id}`,
    "create",
    "load_balancer",
    `name=${quote(lb.name)}`,
    `protocol=${lb.protocol.toLowerCase()}`,
    ...lb.rules.map((r) => kv("vips", r.vip, r.backends.join(","))),
    kv("external_ids", "k8s.ovn.org/kind", "Service"),
    kv("external_ids", "k8s.ovn.org/owner", `${svc.namespace}/${svc.name}`),
    kv("options", "event", "false"),
    kv("options", "reject", "true"),
    kv("options", "skip_snat", String(lb.skipSnat)),
    kv("options", "neighbor_responder", "none"),
    kv("options", "hairpin_snat_ip", "169.254.169.5 fd69::5"),
  );
}

/**
 * Service load balancers, as ovnkube-controller writes them in every zone (`serviceLoadBalancers`): the `_cluster`
 * ones in clusterLBGroup (attached to every local node switch and gateway router), the per-node ones (NodePorts,
 * Local traffic policies) on their node switches and gateway routers.
 */
export function services(c: LabCluster, local: readonly LabNode[], b: CtlBatch): void {
  // The groups first; the load balancers are added to clusterLBGroup (by name) and to the node switches and
  // routers every LB_BATCH services, right after they are created: a large batch can then be cut into several
  // transactions (CtlBatch.argvChunks) between those, and no column is rewritten once per service (ovn-nbctl's
  // `add` writes the whole set: 36,000 services took 100 s, in batches 7 s).
  const toGroup: string[] = [];
  const toSwitch = new Map<string, string[]>();
  const toRouter = new Map<string, string[]>();
  const flush = (): void => {
    if (toGroup.length > 0)
      b.add("add", "load_balancer_group", LB_GROUPS.cluster, "load_balancer", ...toGroup);
    for (const [table, to] of [
      ["logical_switch", toSwitch],
      ["logical_router", toRouter],
    ] as const)
      for (const [name, ids] of to) b.add("add", table, name, "load_balancer", ...ids);
    toGroup.length = 0;
    toSwitch.clear();
    toRouter.clear();
  };
  b.add("--id=@gc", "create", "load_balancer_group", `name=${LB_GROUPS.cluster}`);
  b.add("--id=@gs", "create", "load_balancer_group", `name=${LB_GROUPS.switch}`);
  b.add("--id=@gr", "create", "load_balancer_group", `name=${LB_GROUPS.router}`);
  for (const n of local) {
    b.add("add", "logical_switch", n.name, "load_balancer_group", "@gc", "@gs");
    b.add("add", "logical_router", `GR_${n.name}`, "load_balancer_group", "@gc", "@gr");
  }
  for (const [i, svc] of c.services.entries()) {
    for (const [j, lb] of serviceLoadBalancers(c, svc, local).entries()) {
      const id = `@lb${String(i)}_${String(j)}`;
      createLb(b, id, svc, lb);
      if (lb.clusterGroup) toGroup.push(id);
      for (const sw of lb.switches) toSwitch.set(sw, [...(toSwitch.get(sw) ?? []), id]);
      for (const gr of lb.routers) toRouter.set(gr, [...(toRouter.get(gr) ?? []), id]);
    }
    if (i % LB_BATCH === LB_BATCH - 1) flush();
  }
  flush();
}

/** Services whose load balancers are added to their group and switches in one command. */
const LB_BATCH = 200;
