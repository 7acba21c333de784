import type { Family } from "../net/ip.js";
import { JOIN_NETWORK, type LabCluster, type LabNode, type LabPod } from "./cluster.js";
import type { LabEgressIP } from "./egress-ip.js";
import { CLUSTER_ROUTER } from "./northbound.js";
import { dbExternalIds, dbId, hashForOvn, type DbIds } from "./ovnk-names.js";
import { CtlBatch, kv, quote } from "./ovsdb-batch.js";

/**
 * What ovnkube-controller writes into a zone's NB for EgressIPs (pkg/ovn/egressip.go), once the feature has
 * something to serve: on ovn_cluster_router the priority-102 no-reroute policies (pod to pod, pod to join, pod to
 * node with pkt_mark 1008, replies marked 42) and, for each served pod of the zone, a priority-100 reroute to the
 * egress node (its gateway router's join IP when the egress node is in the zone, else its transit switch IP); on
 * the egress node's gateway router a SNAT of each served pod to the egress IP; the address sets the policies name
 * (served pods, egress-service pods, node IPs); in interconnect the zone's catch-all src-ip route of the cluster
 * network to its gateway router (remote pods rerouted here reach GR_<node> by it). Not written: the priority-103
 * QoS rule that marks the served pods' replies with 42 on every node switch (OVN 23.03's NB QoS has no `mark`
 * action). Tested against real packets in test/engine/fidelity-egressip.test.ts.
 */

const NO_REROUTE_PRIORITY = 102;
const REROUTE_PRIORITY = 100;
/** pkt_mark of pod→node traffic (EgressIPNodeConnectionMark) and of served pods' replies (ReplyTrafficConnectionMark). */
const NODE_CONNECTION_MARK = 1008;
const REPLY_TRAFFIC_MARK = 42;

const ipFamily = (f: Family): string => `ip${f}`;

const policyIds = (priority: number, name: string, family: string): DbIds => ({
  ownerType: "EgressIP",
  keys: [
    ["priority", String(priority)],
    ["k8s.ovn.org/name", name],
    ["ip-family", family],
    ["network", "default"],
  ],
});

const externalIdArgs = (ids: DbIds): string[] =>
  Object.entries(dbExternalIds(ids)).map(([k, v]) => kv("external_ids", k, v));

/** The ids of a cluster-wide address set the EgressIP policies name, of one family (its name is their hash). */
function addressSetIds(kind: "served" | "egress-service" | "node-ips", f: Family): DbIds {
  const family: [string, string] = ["ip-family", `v${f}`];
  switch (kind) {
    case "served":
      return {
        ownerType: "EgressIP",
        keys: [["k8s.ovn.org/name", "egressip-served-pods"], family, ["network", "default"]],
      };
    case "egress-service":
      return { ownerType: "EgressService", keys: [["k8s.ovn.org/name", "egresssvc-served-pods"], family] };
    case "node-ips":
      return { ownerType: "ClusterNodeIPs", keys: [["k8s.ovn.org/name", "node-ips"], family] };
  }
}

function addressSet(b: CtlBatch, ids: DbIds, addresses: readonly string[]): string {
  const name = hashForOvn(dbId(ids));
  b.add(
    "create",
    "address_set",
    `name=${quote(name)}`,
    `addresses=[${addresses.map(quote).join(",")}]`,
    ...externalIdArgs(ids),
  );
  return name;
}

/** Row ids (`@eip<n>`) already used in each batch: a zone's batch holds many policies and NATs. */
const idsUsed = new WeakMap<CtlBatch, number>();
function nextId(b: CtlBatch): string {
  const n = idsUsed.get(b) ?? 0;
  idsUsed.set(b, n + 1);
  return `@eip${String(n)}`;
}

function routerPolicy(
  b: CtlBatch,
  ids: DbIds,
  match: string,
  action: { readonly reroute: readonly string[] } | { readonly allow: Readonly<Record<string, string>> },
): void {
  const id = nextId(b);
  const priority = ids.keys.find(([k]) => k === "priority")?.[1] ?? "";
  b.add(
    `--id=${id}`,
    "create",
    "logical_router_policy",
    `priority=${priority}`,
    `match=${quote(match)}`,
    ...("reroute" in action
      ? ["action=reroute", `nexthops=[${action.reroute.map(quote).join(",")}]`]
      : ["action=allow", ...Object.entries(action.allow).map(([k, v]) => kv("options", k, v))]),
    ...externalIdArgs(ids),
  );
  b.add("add", "logical_router", CLUSTER_ROUTER, "policies", id);
}

/** The reroute next hop to an egress node as seen from a zone: its join IP if it is in the zone, else its transit IP. */
function nextHop(
  c: LabCluster,
  local: ReadonlySet<string>,
  egressNode: LabNode,
  f: Family,
): string | undefined {
  return c.shape === "interconnect" && !local.has(egressNode.name)
    ? egressNode.transitIps[f]
    : egressNode.joinIps[f];
}

/** Adds what ovnkube-controller writes for the cluster's EgressIPs to a zone's NB batch (nothing without any). */
export function egressIPs(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch): void {
  const eips = c.egressIPs ?? [];
  if (eips.length === 0) return;
  const localPod = (p: LabPod): boolean => local.has(p.node);
  const served = [...new Set(eips.flatMap((e) => e.pods))].filter(localPod);
  for (const f of c.families) {
    const net = c.clusterNetwork[f];
    if (net === undefined) continue;
    const ip = `ip${f}`;
    const servedSet = addressSet(
      b,
      addressSetIds("served", f),
      served.flatMap((p) => p.ips[f] ?? []),
    );
    const serviceSet = addressSet(b, addressSetIds("egress-service", f), []);
    const nodeIps = c.nodes.flatMap((n) => (f === 4 ? [n.ip] : n.ipv6 === undefined ? [] : [n.ipv6]));
    const nodeSet = addressSet(b, addressSetIds("node-ips", f), nodeIps);
    routerPolicy(
      b,
      policyIds(NO_REROUTE_PRIORITY, "EIP-No-Reroute-Pod-To-Pod", ipFamily(f)),
      `${ip}.src == ${net} && ${ip}.dst == ${net}`,
      { allow: {} },
    );
    routerPolicy(
      b,
      policyIds(NO_REROUTE_PRIORITY, "EIP-No-Reroute-Pod-To-Join", ipFamily(f)),
      `${ip}.src == ${net} && ${ip}.dst == ${JOIN_NETWORK[f]}`,
      { allow: {} },
    );
    routerPolicy(
      b,
      policyIds(NO_REROUTE_PRIORITY, "EIP-No-Reroute-Pod-To-Node", ipFamily(f)),
      `(${ip}.src == $${servedSet} || ${ip}.src == $${serviceSet}) && ${ip}.dst == $${nodeSet}`,
      { allow: { pkt_mark: String(NODE_CONNECTION_MARK) } },
    );
    if (c.shape === "interconnect") catchAllRoute(c, local, b, f, net);
  }
  routerPolicy(
    b,
    policyIds(NO_REROUTE_PRIORITY, "EIP-No-Reroute-reply-traffic", "ip"),
    `pkt.mark == ${String(REPLY_TRAFFIC_MARK)}`,
    { allow: {} },
  );
  for (const e of eips) {
    for (const p of e.pods.filter(localPod)) reroute(c, local, b, e, p);
    snats(c, local, b, e);
  }
}

/** Interconnect (CreateDefaultRouteToExternal): the cluster network, by source, to the zone's gateway router. */
function catchAllRoute(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch, f: Family, net: string): void {
  const node = c.nodes.find((n) => local.has(n.name));
  const gr = node?.joinIps[f];
  if (gr === undefined) return;
  b.add("--policy=src-ip", "lr-route-add", CLUSTER_ROUTER, net, gr);
}

/** A served pod's reroute, one policy per family, to the egress nodes of that family's egress IPs. */
function reroute(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch, e: LabEgressIP, p: LabPod): void {
  for (const f of c.families) {
    const podIp = p.ips[f];
    const hops = e.status.flatMap((s) => {
      const n = c.nodes.find((x) => x.name === s.node);
      const hop = n === undefined || familyOf(s.egressIP) !== f ? undefined : nextHop(c, local, n, f);
      return hop === undefined ? [] : [hop];
    });
    if (podIp === undefined || hops.length === 0) continue;
    routerPolicy(
      b,
      policyIds(REROUTE_PRIORITY, `${e.name}_${p.namespace}/${p.name}`, ipFamily(f)),
      `ip${f}.src == ${podIp}`,
      { reroute: hops },
    );
  }
}

/** On each egress node of the zone, the SNAT of every served pod (of any zone) to the egress IP. */
function snats(c: LabCluster, local: ReadonlySet<string>, b: CtlBatch, e: LabEgressIP): void {
  for (const s of e.status) {
    if (!local.has(s.node)) continue;
    const f = familyOf(s.egressIP);
    for (const p of e.pods) {
      const podIp = p.ips[f];
      if (podIp === undefined) continue;
      const id = nextId(b);
      b.add(
        `--id=${id}`,
        "create",
        "nat",
        "type=snat",
        `external_ip=${quote(s.egressIP)}`,
        `logical_ip=${quote(podIp)}`,
        `logical_port=${quote(`k8s-${s.node}`)}`,
        kv("options", "stateless", "false"),
        ...externalIdArgs({
          ownerType: "EgressIP",
          keys: [
            ["k8s.ovn.org/name", `${e.name}_${p.namespace}/${p.name}`],
            ["ip-family", ipFamily(f)],
          ],
        }),
      );
      b.add("add", "logical_router", `GR_${s.node}`, "nat", id);
    }
  }
}

const familyOf = (ip: string): Family => (ip.includes(":") ? 6 : 4);
