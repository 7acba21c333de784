import { ETP_LOCAL_MASQUERADE_IP } from "../cluster/ovnk-service-vips.js";
import { hostPort, type Family } from "../net/ip.js";
import type { LabCluster, LabNode, LabPod, LabService, LabServicePort } from "./cluster.js";
import type { Protocol } from "./scenario.js";

/**
 * The OVN load balancers ovnkube-controller's services controller derives from one Service in a zone
 * (pkg/ovn/controller/services/lb_config.go): a `_cluster` load balancer per protocol for its cluster IPs (in
 * clusterLBGroup), unless internalTrafficPolicy=Local makes them per node; and per node of the zone (sorted by name,
 * as its node tracker lists them), for NodePorts and Local traffic policies, a gateway router and a node switch
 * load balancer. Both have the same rules unless a traffic policy is Local, and are then one
 * `node_router+switch_<node>`; else `node_router_<node>` (the router's rules), `node_local_router_<node>`
 * (externalTrafficPolicy=Local NodePorts with endpoints on the node: skip_snat, so the backend sees the client)
 * and `node_switch_<node>`. Per-node load balancers with equal rules are merged into the first one, whose name
 * gets `_merged`. Pure.
 */

/** One VIP and its backends, `ip:port` each (`[ip]:port` for IPv6). */
export interface LoadBalancerRule {
  readonly vip: string;
  readonly backends: readonly string[];
}

export interface ServiceLoadBalancer {
  readonly name: string;
  readonly protocol: Protocol;
  readonly rules: readonly LoadBalancerRule[];
  /** options:skip_snat: the gateway router does not SNAT what it load-balances to the join IP. */
  readonly skipSnat: boolean;
  /** In clusterLBGroup (the `_cluster` load balancer), else attached to these switches and gateway routers. */
  readonly clusterGroup: boolean;
  readonly switches: readonly string[];
  readonly routers: readonly string[];
}

const PROTOCOLS: readonly Protocol[] = ["TCP", "UDP", "SCTP"];

const familyOf = (ip: string): Family => (ip.includes(":") ? 6 : 4);

/** The Service's load balancers in the zone of `local` (its nodes), as ovnkube-controller writes them. */
export function serviceLoadBalancers(
  c: LabCluster,
  svc: LabService,
  local: readonly LabNode[],
): ServiceLoadBalancer[] {
  const protocols = PROTOCOLS.filter((p) => svc.ports.some((sp) => sp.protocol === p));
  const cluster =
    svc.internalTrafficPolicy === "Local"
      ? []
      : protocols.map((protocol) => ({
          name: lbName(svc, protocol, "cluster"),
          protocol,
          rules: clusterIpVips(c, svc, protocol).map(({ ip, sp }) => ({
            vip: hostPort(ip, sp.port),
            backends: targets(svc.endpoints, familyOf(ip), sp),
          })),
          skipSnat: false,
          clusterGroup: true,
          switches: [],
          routers: [],
        }));
  // per node only for NodePorts and Local policies (a plain ClusterIP Service has just its _cluster one)
  const nodePorts = svc.ports.some((p) => p.nodePort !== undefined);
  if (!nodePorts && svc.internalTrafficPolicy !== "Local") return cluster;
  const nodes = [...local].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const perNode = nodes.flatMap((n) =>
    protocols.flatMap((protocol) => nodeLoadBalancers(c, svc, n, protocol)),
  );
  // with a nodePort, each node's load balancers carry the node's own IP as a VIP: none can merge
  return [...cluster, ...(nodePorts ? perNode : merged(perNode))];
}

function lbName(svc: LabService, protocol: Protocol, scope: string): string {
  return `Service_${svc.namespace}/${svc.name}_${protocol}_${scope}`;
}

const clusterIps = (c: LabCluster, svc: LabService): string[] =>
  c.families.flatMap((f) => (svc.clusterIPs[f] === undefined ? [] : [svc.clusterIPs[f]]));

function clusterIpVips(
  c: LabCluster,
  svc: LabService,
  protocol: Protocol,
): { ip: string; sp: LabServicePort }[] {
  const ips = clusterIps(c, svc);
  return svc.ports.filter((sp) => sp.protocol === protocol).flatMap((sp) => ips.map((ip) => ({ ip, sp })));
}

function targets(endpoints: readonly LabPod[], family: Family, sp: LabServicePort): string[] {
  return endpoints.flatMap((e) =>
    e.ips[family] === undefined ? [] : [hostPort(e.ips[family], sp.targetPort)],
  );
}

/** The gateway router and switch load balancers of one node and protocol (none when it needs none). */
function nodeLoadBalancers(
  c: LabCluster,
  svc: LabService,
  n: LabNode,
  protocol: Protocol,
): ServiceLoadBalancer[] {
  const etpLocal = svc.externalTrafficPolicy === "Local";
  const itpLocal = svc.internalTrafficPolicy === "Local";
  const all = svc.endpoints;
  const onNode = all.filter((e) => e.node === n.name);
  const nodeIps = [n.ip, ...(n.ipv6 === undefined ? [] : [n.ipv6])];
  const switchRules: LoadBalancerRule[] = [];
  const routerRules: LoadBalancerRule[] = [];
  const noSnatRouterRules: LoadBalancerRule[] = [];
  for (const sp of svc.ports.filter((x) => x.protocol === protocol)) {
    // the NodePort config, then (when per node) the cluster IP one, as buildServiceLBConfigs orders them
    if (sp.nodePort !== undefined) {
      for (const ip of nodeIps) {
        const fam = familyOf(ip);
        const vip = hostPort(ip, sp.nodePort);
        if (etpLocal)
          switchRules.push({
            vip: hostPort(ETP_LOCAL_MASQUERADE_IP[fam], sp.nodePort),
            backends: targets(onNode, fam, sp),
          });
        switchRules.push({ vip, backends: targets(all, fam, sp) });
        const router = { vip, backends: targets(etpLocal ? onNode : all, fam, sp) };
        (etpLocal && router.backends.length > 0 ? noSnatRouterRules : routerRules).push(router);
      }
    }
    if (!itpLocal) continue;
    for (const ip of clusterIps(c, svc)) {
      const fam = familyOf(ip);
      const vip = hostPort(ip, sp.port);
      switchRules.push({ vip, backends: targets(onNode, fam, sp) });
      routerRules.push({ vip, backends: targets(all, fam, sp) });
    }
  }
  const lb = (
    scope: string,
    rules: LoadBalancerRule[],
    at: "router" | "switch" | "both",
    skipSnat = false,
  ) => ({
    name: lbName(svc, protocol, `${scope}_${n.name}`),
    protocol,
    rules,
    skipSnat,
    clusterGroup: false,
    switches: at === "router" ? [] : [n.name],
    routers: at === "switch" ? [] : [`GR_${n.name}`],
  });
  if (switchRules.length > 0 && sameRules(switchRules, routerRules))
    return [lb("node_router+switch", routerRules, "both")];
  return [
    ...(routerRules.length > 0 ? [lb("node_router", routerRules, "router")] : []),
    ...(noSnatRouterRules.length > 0 ? [lb("node_local_router", noSnatRouterRules, "router", true)] : []),
    ...(switchRules.length > 0 ? [lb("node_switch", switchRules, "switch")] : []),
  ];
}

const sameRules = (a: readonly LoadBalancerRule[], b: readonly LoadBalancerRule[]): boolean =>
  JSON.stringify(a) === JSON.stringify(b);

/** mergeLBs: a load balancer with the protocol, options and rules of an earlier one joins it. */
function merged(lbs: readonly ServiceLoadBalancer[]): ServiceLoadBalancer[] {
  const out: ServiceLoadBalancer[] = [];
  const indexOf = new Map<string, number>();
  for (const lb of lbs) {
    const key = JSON.stringify([lb.protocol, lb.skipSnat, lb.rules]);
    const i = indexOf.get(key);
    const into = i === undefined ? undefined : out[i];
    if (i === undefined || into === undefined) {
      indexOf.set(key, out.length);
      out.push(lb);
      continue;
    }
    out[i] = {
      ...into,
      name: into.name.endsWith("_merged") ? into.name : `${into.name}_merged`,
      switches: [...into.switches, ...lb.switches],
      routers: [...into.routers, ...lb.routers],
    };
  }
  return out;
}
