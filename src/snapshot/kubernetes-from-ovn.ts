/**
 * Kubernetes objects rebuilt from the OVN databases alone, for an offline snapshot that has none (a sos
 * report per node): what ovn-kubernetes wrote into each zone's NB and SB, read back into the Nodes, Pods,
 * Namespaces, Services, EndpointSlices and NetworkPolicies the tracer reads, with the annotations in the
 * exact JSON shapes ovn-kubernetes writes them. Pure: nothing is run, no name of the built-in lab is assumed.
 *
 * Sources (ovn-kubernetes go-controller): pod ports `<ns>_<pod>` with external_ids {namespace, pod=true}
 * (base_network_controller_pods.go; secondary networks add k8s.ovn.org/network, k8s.ovn.org/nad,
 * k8s.ovn.org/topology and name the port `<nad with - and / as .>_<ns>_<pod>`,
 * util.GetSecondaryNetworkLogicalPortName; their switch's k8s.ovn.org/role says primary or secondary),
 * options:iface-id-ver = the pod uid; node switch `<node>` with other_config subnet/ipv6_prefix,
 * rtos-/stor-<node>, k8s-<node> (management port), GR_<node> (options:chassis), rtoe-GR_<node> (node IPs
 * and breth0's MAC), rtoj-GR_<node>, rtots-/tstor-<node> (interconnect: requested-tnl-key = node id; a remote
 * node's port is type remote with external_ids:node), cluster router routes with external_ids:ic-node;
 * load balancers `Service_<ns>/<name>_<PROTO>_<scope>` with external_ids k8s.ovn.org/kind=Service and
 * k8s.ovn.org/owner=<ns>/<name> (controller/services/lb_config.go; a node port's VIP is a node IP, a
 * masquerade address or a `^NODEIP...` chassis template variable; Local traffic policies from the per-node
 * load balancers, traffic-policy-from-ovn.ts); ACLs and port groups with
 * k8s.ovn.org/owner-type=NetworkPolicy and k8s.ovn.org/name=<ns>:<policy> (libovsdb/ops/db_object_ids.go).
 *
 * What cannot be derived, and why:
 * - Host-network pods (no logical port: they use the node's management port), pods not yet wired (no LSP),
 *   and every pod of a zone whose NB is missing. Pod labels, containers, owner references: not in OVN.
 * - Services: selectors, port names (a multi-port service gets `<proto>-<port>` names, shared with its
 *   slices), the order of its ports, ipFamilyPolicy, sessionAffinity, headless and ExternalName services
 *   (no load balancer). ClusterIP, external IPs and load-balancer ingress IPs share the `_cluster` load
 *   balancer: with several IPs of one family the one closest to the other services' cluster IPs is taken as
 *   the cluster IP and the rest listed as externalIPs; LoadBalancer type is reported as NodePort. A target
 *   port is a number only when every backend of that port agrees (a named port with different numbers per
 *   pod is left out); a node port is matched to its service port by protocol, or by backend port when a
 *   service has several ports of that protocol.
 * - EndpointSlices hold only what the load balancers hold: ready (or serving) backends; not-ready
 *   endpoints, hostnames, zones and selector services without any endpoint (no slice is made) are lost.
 * - NetworkPolicies: metadata only; the rules stay in the ACLs, which is what the drop explanation reads.
 *   AdminNetworkPolicies and the BaselineAdminNetworkPolicy likewise (their ACLs' owner-type and name), with an
 *   ANP's spec.priority read back from its ACL priorities; subjects, peers and rule names are not in OVN.
 * - Nodes: labels, conditions, capacity, spec.podCIDR (not ovn-kubernetes' subnets), host-cidrs (only the
 *   gateway's addresses are known). A node seen only as a remote one (interconnect, its zone's NB missing)
 *   has no management MAC nor gateway config, and its zone is taken to be its name (one node per zone, as
 *   ovn-kubernetes deploys interconnect); node-id is known only on interconnect clusters (transit port key).
 * Everything made here carries the annotation `ovnkube-trace/derived-from: ovn-databases`.
 */
import type { KubeObject } from "../cluster/kube-objects.js";
import { adminPolicyRuleOf } from "../parsers/admin-policy-acl.js";
import { trafficPoliciesOf, type LoadBalancerVip, type TrafficPolicies } from "./traffic-policy-from-ovn.js";
import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import { contains, formatCidr, formatIp, parseCidr, parseIp, type Cidr, type Family } from "../net/ip.js";
import {
  externalIds,
  mapColumn,
  numberColumn,
  options,
  otherConfig,
  rowByUuid,
  setColumn,
  stringColumn,
  tableRows,
} from "../ovsdb/index.js";
import { layer3NodeSubnets } from "./udn-node-subnets.js";
import { egressIPObjectsFromOvn } from "./egress-ip-from-ovn.js";
import { egressFirewallObjectsFromOvn } from "./egress-firewall-from-ovn.js";

export const DERIVED_ANNOTATION = "ovnkube-trace/derived-from";
export const DERIVED_FROM_OVN = "ovn-databases";

/** One zone's databases (either may be missing: a sos report may hold only one of them). */
export interface OvnZoneDatabases {
  readonly nb?: OvsdbDatabase | undefined;
  readonly sb?: OvsdbDatabase | undefined;
}

type Obj = Record<string, unknown>;

const CLUSTER_ROUTER = "ovn_cluster_router";
const TRANSIT_SWITCH = "transit_switch";
const DEFAULT_NETWORK = "default";
/** ovn-kubernetes' BaseTransitSwitchTunnelKey: a network's transit switch key is this + its network id. */
const BASE_TRANSIT_SWITCH_TUNNEL_KEY = 16711683;
const MAX_NETWORKS = 4096;

// ---------------------------------------------------------------------------------------------------
// small helpers

const ipText = (s: string): string | undefined => {
  const ip = parseIp(s);
  return ip === undefined ? undefined : formatIp(ip);
};
const familyOf = (ip: string): Family | undefined => parseIp(ip)?.family;
/** "10.244.1.1/24" → its network "10.244.1.0/24". */
const networkOf = (cidr: string): string | undefined => {
  const c = parseCidr(cidr);
  return c === undefined ? undefined : formatCidr(c);
};
const addrOf = (cidr: string): string => cidr.split("/")[0] ?? "";
const uniq = <T>(xs: readonly T[]): T[] => [...new Set(xs)];
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
const stringsOf = (row: OvsdbRow, column: string): string[] =>
  setColumn(row, column).filter((a): a is string => typeof a === "string");
/** Go's json.Marshal of a map: keys sorted. */
const sortedKeys = (o: Record<string, unknown>): Record<string, unknown> =>
  Object.fromEntries(Object.entries(o).sort(([a], [b]) => byText(a, b)));

/** LSP/LRP address text "mac ip ip..." (or "mac ip/len ..."): MAC and addresses. */
function parseAddresses(text: string): { mac?: string; ips: string[] } {
  const [first, ...rest] = text.trim().split(/\s+/);
  if (first === undefined || !/^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/i.test(first)) return { ips: [] };
  return { mac: first.toLowerCase(), ips: rest };
}

/** "10.96.0.10:53", "[fd00::a]:53", "^NODEIP_IPv4_0:30080" → host and port. */
function parseHostPort(text: string): { host: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6 !== null) return { host: v6[1] ?? "", ...(v6[2] === undefined ? {} : { port: Number(v6[2]) }) };
  const colon = text.lastIndexOf(":");
  if (colon > 0 && text.indexOf(":") === colon && /^\d+$/.test(text.slice(colon + 1)))
    return { host: text.slice(0, colon), port: Number(text.slice(colon + 1)) };
  return { host: text };
}

/** Addresses or prefixes, the cluster's primary family first (a stable sort: order within a family stays). */
const withFamilyOrder = (ips: readonly string[], primary: Family): string[] =>
  [...ips].sort((a, b) => rank(familyOf(addrOf(a)), primary) - rank(familyOf(addrOf(b)), primary));
const rank = (f: Family | undefined, primary: Family): number =>
  f === primary ? 0 : f === undefined ? 2 : 1;

function derivedMeta(name: string, namespace?: string, extra: Obj = {}): Obj {
  const { annotations, ...rest } = extra as { annotations?: Record<string, string> };
  return {
    name,
    ...(namespace === undefined ? {} : { namespace }),
    ...rest,
    annotations: { ...(annotations ?? {}), [DERIVED_ANNOTATION]: DERIVED_FROM_OVN },
  };
}

// ---------------------------------------------------------------------------------------------------
// one zone, indexed

class ZoneView {
  readonly lsps = new Map<string, OvsdbRow>();
  readonly lrps = new Map<string, OvsdbRow>();
  readonly switches = new Map<string, OvsdbRow>();
  readonly routers = new Map<string, OvsdbRow>();
  /** LSP uuid → its switch. */
  readonly switchOfPort = new Map<string, OvsdbRow>();
  readonly bindings = new Map<string, OvsdbRow>();
  readonly name: string;

  constructor(
    readonly nb: OvsdbDatabase | undefined,
    readonly sb: OvsdbDatabase | undefined,
  ) {
    const byName = (db: OvsdbDatabase | undefined, table: string, into: Map<string, OvsdbRow>) => {
      if (db === undefined) return;
      for (const r of tableRows(db, table)) {
        const n = stringColumn(r, "name");
        if (n !== undefined) into.set(n, r);
      }
    };
    byName(nb, "Logical_Switch_Port", this.lsps);
    byName(nb, "Logical_Router_Port", this.lrps);
    byName(nb, "Logical_Switch", this.switches);
    byName(nb, "Logical_Router", this.routers);
    for (const ls of this.switches.values())
      for (const p of stringsOf(ls, "ports")) this.switchOfPort.set(p, ls);
    if (sb !== undefined)
      for (const pb of tableRows(sb, "Port_Binding")) {
        const lp = stringColumn(pb, "logical_port");
        if (lp !== undefined) this.bindings.set(lp, pb);
      }
    const global = nb === undefined ? undefined : tableRows(nb, "NB_Global")[0];
    const n = global === undefined ? undefined : stringColumn(global, "name");
    this.name = n === undefined || n === "" ? "global" : n;
  }

  get interconnect(): boolean {
    return this.switches.has(TRANSIT_SWITCH);
  }

  networks(lrpName: string): string[] {
    const lrp = this.lrps.get(lrpName);
    return lrp === undefined ? [] : stringsOf(lrp, "networks");
  }

  mac(lrpName: string): string | undefined {
    const lrp = this.lrps.get(lrpName);
    return lrp === undefined ? undefined : stringColumn(lrp, "mac")?.toLowerCase();
  }

  routes(routerName: string): OvsdbRow[] {
    const r = this.routers.get(routerName);
    if (r === undefined || this.nb === undefined) return [];
    const nb = this.nb;
    return stringsOf(r, "static_routes").flatMap((u) => {
      const row = rowByUuid(nb, "Logical_Router_Static_Route", u);
      return row === undefined ? [] : [row];
    });
  }

  chassisRows(): OvsdbRow[] {
    return this.sb === undefined ? [] : [...tableRows(this.sb, "Chassis")];
  }

  chassisByUuid(uuid: string): OvsdbRow | undefined {
    return this.sb === undefined ? undefined : rowByUuid(this.sb, "Chassis", uuid);
  }

  encapIps(chassis: OvsdbRow): string[] {
    const sb = this.sb;
    if (sb === undefined) return [];
    return stringsOf(chassis, "encaps").flatMap((u) => {
      const e = rowByUuid(sb, "Encap", u);
      const ip = e === undefined ? undefined : stringColumn(e, "ip");
      return ip === undefined ? [] : [ip];
    });
  }

  /** The default network's node switches: a subnet or ipv6_prefix, no network of their own. */
  nodeSwitches(): OvsdbRow[] {
    return [...this.switches.values()].filter((ls) => {
      const oc = otherConfig(ls);
      const name = stringColumn(ls, "name") ?? "";
      return (
        (oc.subnet !== undefined || oc.ipv6_prefix !== undefined) &&
        externalIds(ls)["k8s.ovn.org/network"] === undefined &&
        name !== "join" &&
        !name.startsWith("join_") &&
        !name.startsWith("ext_") &&
        name !== TRANSIT_SWITCH
      );
    });
  }
}

// ---------------------------------------------------------------------------------------------------
// nodes

interface GatewayFacts {
  readonly mode: "shared" | "local";
  readonly bridgeId?: string;
  readonly interfaceId?: string;
  readonly mac?: string;
  readonly ipCidrs: readonly string[];
  readonly nextHops: readonly string[];
  readonly vlanId: string;
}

interface NodeFacts {
  name: string;
  /** Seen as a node of its own zone (not only as a remote one). */
  local: boolean;
  zone?: string;
  chassisId?: string;
  subnets: string[];
  gatewayCidrs: string[];
  mgmtMac?: string;
  mgmtIps: string[];
  /** Host addresses with their prefix length when the gateway router shows it. */
  hostCidrs: string[];
  encapIps: string[];
  transitCidrs: string[];
  joinCidrs: string[];
  nodeId?: number;
  gateway?: GatewayFacts;
}

const emptyNode = (name: string): NodeFacts => ({
  name,
  local: false,
  subnets: [],
  gatewayCidrs: [],
  mgmtIps: [],
  hostCidrs: [],
  encapIps: [],
  transitCidrs: [],
  joinCidrs: [],
});

function tunnelKey(row: OvsdbRow): number | undefined {
  const v = options(row)["requested-tnl-key"];
  return v !== undefined && /^\d+$/.test(v) ? Number(v) : undefined;
}

function gatewayFacts(z: ZoneView, node: string, mgmtIps: readonly string[]): GatewayFacts | undefined {
  const gr = `GR_${node}`;
  if (!z.routers.has(gr)) return undefined;
  const ext = z.switches.get(`ext_${node}`);
  const localnet =
    ext === undefined || z.nb === undefined
      ? undefined
      : stringsOf(ext, "ports")
          .map((u) => (z.nb === undefined ? undefined : rowByUuid(z.nb, "Logical_Switch_Port", u)))
          .find((p) => p !== undefined && stringColumn(p, "type") === "localnet");
  const interfaceId = localnet === undefined ? undefined : stringColumn(localnet, "name");
  const suffix = `_${node}`;
  const bridgeId = interfaceId?.endsWith(suffix) === true ? interfaceId.slice(0, -suffix.length) : undefined;
  const vlan =
    localnet === undefined
      ? undefined
      : (numberColumn(localnet, "tag_request") ?? numberColumn(localnet, "tag"));
  const nextHops = z
    .routes(gr)
    .filter((r) => ["0.0.0.0/0", "::/0"].includes(stringColumn(r, "ip_prefix") ?? ""))
    .flatMap((r) => {
      const nh = stringColumn(r, "nexthop");
      return nh === undefined ? [] : [nh];
    });
  // Local gateway mode sends pod egress to the host: the cluster router's source route for the node
  // subnet goes to the management port instead of the gateway router's join address.
  const srcNextHops = z
    .routes(CLUSTER_ROUTER)
    .filter((r) => stringColumn(r, "policy") === "src-ip")
    .map((r) => stringColumn(r, "nexthop") ?? "");
  const mgmt = new Set(mgmtIps);
  const local = srcNextHops.some((nh) => mgmt.has(nh));
  return {
    mode: local ? "local" : "shared",
    ...(bridgeId === undefined ? {} : { bridgeId }),
    ...(interfaceId === undefined ? {} : { interfaceId }),
    ...(z.mac(`rtoe-${gr}`) === undefined ? {} : { mac: z.mac(`rtoe-${gr}`) }),
    ipCidrs: z.networks(`rtoe-${gr}`),
    nextHops,
    vlanId: String(vlan ?? 0),
  };
}

function localNodes(z: ZoneView): NodeFacts[] {
  const out: NodeFacts[] = [];
  for (const ls of z.nodeSwitches()) {
    const name = stringColumn(ls, "name") ?? "";
    const n = emptyNode(name);
    n.local = true;
    n.zone = z.name;
    const oc = otherConfig(ls);
    n.gatewayCidrs = z.networks(`rtos-${name}`);
    const fromRouter = n.gatewayCidrs.flatMap((c) => networkOf(c) ?? []);
    const fromSwitch = [
      ...(oc.subnet === undefined ? [] : [networkOf(oc.subnet) ?? oc.subnet]),
      ...(oc.ipv6_prefix === undefined ? [] : [networkOf(`${oc.ipv6_prefix}/64`) ?? oc.ipv6_prefix]),
    ];
    n.subnets = fromRouter.length > 0 ? fromRouter : fromSwitch;
    const mgmt = z.lsps.get(`k8s-${name}`);
    if (mgmt !== undefined) {
      const a = parseAddresses(stringsOf(mgmt, "addresses")[0] ?? "");
      if (a.mac !== undefined) n.mgmtMac = a.mac;
      n.mgmtIps = a.ips.flatMap((ip) => ipText(ip) ?? []);
    }
    const gr = z.routers.get(`GR_${name}`);
    const chassisFromGr = gr === undefined ? undefined : options(gr).chassis;
    if (chassisFromGr !== undefined && chassisFromGr !== "") n.chassisId = chassisFromGr;
    const chassis = z
      .chassisRows()
      .find((c) =>
        n.chassisId === undefined
          ? stringColumn(c, "hostname") === name && otherConfig(c)["is-remote"] !== "true"
          : stringColumn(c, "name") === n.chassisId,
      );
    if (chassis !== undefined) {
      n.chassisId ??= stringColumn(chassis, "name");
      n.encapIps = z.encapIps(chassis);
    }
    n.hostCidrs = z.networks(`rtoe-GR_${name}`);
    n.joinCidrs = z.networks(`rtoj-GR_${name}`);
    n.transitCidrs = z.networks(`rtots-${name}`);
    const tstor = z.lsps.get(`tstor-${name}`);
    const key = tstor === undefined ? undefined : tunnelKey(tstor);
    if (key !== undefined) n.nodeId = key;
    const gw = gatewayFacts(z, name, n.mgmtIps);
    if (gw !== undefined) n.gateway = gw;
    out.push(n);
  }
  return out;
}

/** Nodes of other zones as this zone sees them (interconnect), and chassis no node switch names. */
function remoteNodes(z: ZoneView, local: ReadonlySet<string>): NodeFacts[] {
  const nodes = new Map<string, NodeFacts>();
  const get = (name: string): NodeFacts => {
    let n = nodes.get(name);
    if (n === undefined) {
      n = emptyNode(name);
      nodes.set(name, n);
    }
    return n;
  };
  for (const p of z.lsps.values()) {
    if (stringColumn(p, "type") !== "remote") continue;
    const pname = stringColumn(p, "name") ?? "";
    const ls = z.switchOfPort.get(p.uuid);
    if (ls === undefined || stringColumn(ls, "name") !== TRANSIT_SWITCH) continue;
    const node = externalIds(p).node ?? (pname.startsWith("tstor-") ? pname.slice(6) : undefined);
    if (node === undefined || local.has(node)) continue;
    const n = get(node);
    n.transitCidrs = parseAddresses(stringsOf(p, "addresses")[0] ?? "").ips;
    const key = tunnelKey(p);
    if (key !== undefined) n.nodeId = key;
  }
  for (const r of z.routes(CLUSTER_ROUTER)) {
    const ids = externalIds(r);
    const node = ids["ic-node"];
    const net = ids["k8s.ovn.org/network"];
    if (node === undefined || local.has(node) || (net !== undefined && net !== DEFAULT_NETWORK)) continue;
    // a host route is the node's gateway router join IP (ovnkube-controller routes it too), not a subnet
    const prefix = networkOf(stringColumn(r, "ip_prefix") ?? "");
    if (prefix !== undefined && !/\/(32|128)$/.test(prefix)) get(node).subnets.push(prefix);
  }
  for (const c of z.chassisRows()) {
    const host = stringColumn(c, "hostname");
    if (host === undefined || host === "" || local.has(host)) continue;
    const n = get(host);
    n.chassisId = stringColumn(c, "name");
    n.encapIps = z.encapIps(c);
  }
  return [...nodes.values()];
}

/** Fields of the zone that owns a node win over what other zones know of it. */
function mergeNode(a: NodeFacts, b: NodeFacts): NodeFacts {
  const [own, other] = b.local && !a.local ? [b, a] : [a, b];
  const pick = <T>(x: T[], y: T[]): T[] => (x.length > 0 ? x : y);
  const zone = own.zone ?? other.zone;
  const chassisId = own.chassisId ?? other.chassisId;
  const mgmtMac = own.mgmtMac ?? other.mgmtMac;
  const nodeId = own.nodeId ?? other.nodeId;
  const gateway = own.gateway ?? other.gateway;
  return {
    name: own.name,
    local: own.local || other.local,
    ...(zone === undefined ? {} : { zone }),
    ...(chassisId === undefined ? {} : { chassisId }),
    ...(mgmtMac === undefined ? {} : { mgmtMac }),
    ...(nodeId === undefined ? {} : { nodeId }),
    ...(gateway === undefined ? {} : { gateway }),
    subnets: pick(own.subnets, other.subnets),
    gatewayCidrs: pick(own.gatewayCidrs, other.gatewayCidrs),
    mgmtIps: pick(own.mgmtIps, other.mgmtIps),
    hostCidrs: pick(own.hostCidrs, other.hostCidrs),
    encapIps: pick(own.encapIps, other.encapIps),
    transitCidrs: pick(own.transitCidrs, other.transitCidrs),
    joinCidrs: pick(own.joinCidrs, other.joinCidrs),
  };
}

const byFamilyObject = (cidrs: readonly string[]): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const c of cidrs) {
    const f = familyOf(addrOf(c));
    if (f !== undefined) out[`ipv${f}`] ??= c;
  }
  return out;
};

function nodeIps(n: NodeFacts, primary: Family): string[] {
  const fromGateway = n.hostCidrs.flatMap((c) => ipText(addrOf(c)) ?? []);
  return withFamilyOrder(uniq(fromGateway.length > 0 ? fromGateway : n.encapIps), primary);
}

function nodeObject(
  n: NodeFacts,
  networkIds: Readonly<Record<string, string>>,
  primary: Family,
  udnSubnets: Readonly<Record<string, string[]>> = {},
): Obj {
  const a: Record<string, string> = {};
  const subnets = withFamilyOrder(n.subnets, primary);
  if (n.chassisId !== undefined) a["k8s.ovn.org/node-chassis-id"] = n.chassisId;
  a["k8s.ovn.org/zone-name"] = n.zone ?? n.name;
  if (n.nodeId !== undefined) a["k8s.ovn.org/node-id"] = String(n.nodeId);
  a["k8s.ovn.org/network-ids"] = JSON.stringify(sortedKeys(networkIds));
  if (subnets.length > 0) a["k8s.ovn.org/node-subnets"] = JSON.stringify({ default: subnets, ...udnSubnets });
  const gw = n.gateway;
  if (gw !== undefined) {
    const ips = withFamilyOrder(gw.ipCidrs, primary);
    a["k8s.ovn.org/l3-gateway-config"] = JSON.stringify({
      default: {
        mode: gw.mode,
        ...(gw.bridgeId === undefined ? {} : { "bridge-id": gw.bridgeId }),
        ...(gw.interfaceId === undefined ? {} : { "interface-id": gw.interfaceId }),
        ...(gw.mac === undefined ? {} : { "mac-address": gw.mac }),
        "ip-addresses": ips,
        ...(ips.length === 1 ? { "ip-address": ips[0] } : {}),
        "next-hops": gw.nextHops,
        ...(gw.nextHops.length === 1 ? { "next-hop": gw.nextHops[0] } : {}),
        "node-port-enable": "true",
        "vlan-id": gw.vlanId,
      },
    });
  }
  if (n.joinCidrs.length > 0)
    a["k8s.ovn.org/node-gateway-router-lrp-ifaddrs"] = JSON.stringify({
      default: byFamilyObject(n.joinCidrs),
    });
  if (n.hostCidrs.length > 0)
    a["k8s.ovn.org/node-primary-ifaddr"] = JSON.stringify(byFamilyObject(n.hostCidrs));
  if (n.mgmtMac !== undefined)
    a["k8s.ovn.org/node-mgmt-port-mac-addresses"] = JSON.stringify({ default: n.mgmtMac });
  if (n.transitCidrs.length > 0)
    a["k8s.ovn.org/node-transit-switch-port-ifaddr"] = JSON.stringify(byFamilyObject(n.transitCidrs));
  return {
    apiVersion: "v1",
    kind: "Node",
    metadata: derivedMeta(n.name, undefined, {
      labels: { "kubernetes.io/hostname": n.name },
      annotations: a,
    }),
    spec: {},
    status: {
      addresses: [
        ...nodeIps(n, primary).map((address) => ({ type: "InternalIP", address })),
        { type: "Hostname", address: n.name },
      ],
    },
  };
}

// ---------------------------------------------------------------------------------------------------
// cluster-wide facts: subnets, networks

interface ClusterFacts {
  /** Cluster networks of the default network (the gateway routers' routes back to the cluster router). */
  readonly clusterSubnets: string[];
  /** Join subnets (rtoj-ovn_cluster_router). */
  readonly joinSubnets: string[];
  readonly networkIds: Record<string, string>;
}

function clusterFacts(zones: readonly ZoneView[]): ClusterFacts {
  const clusterSubnets: string[] = [];
  const joinSubnets: string[] = [];
  const networkIds: Record<string, string> = { [DEFAULT_NETWORK]: "0" };
  for (const z of zones) {
    const joinCidrs = z.networks(`rtoj-${CLUSTER_ROUTER}`);
    joinSubnets.push(...joinCidrs.flatMap((c) => networkOf(c) ?? []));
    const routerIps = new Set(joinCidrs.map(addrOf));
    for (const gr of z.routers.keys()) {
      if (!gr.startsWith("GR_")) continue;
      for (const r of z.routes(gr)) {
        if (!routerIps.has(stringColumn(r, "nexthop") ?? "")) continue;
        const p = networkOf(stringColumn(r, "ip_prefix") ?? "");
        if (p !== undefined) clusterSubnets.push(p);
      }
    }
    for (const ls of z.switches.values()) {
      const net = externalIds(ls)["k8s.ovn.org/network"];
      const key = Number(otherConfig(ls)["requested-tnl-key"] ?? NaN);
      const id = key - BASE_TRANSIT_SWITCH_TUNNEL_KEY;
      if (net !== undefined && net !== DEFAULT_NETWORK && Number.isInteger(id) && id > 0 && id < MAX_NETWORKS)
        networkIds[net] = String(id);
    }
  }
  return { clusterSubnets: uniq(clusterSubnets), joinSubnets: uniq(joinSubnets), networkIds };
}

// ---------------------------------------------------------------------------------------------------
// pods

interface PodNetwork {
  readonly key: string;
  readonly role: "primary" | "secondary";
  readonly ips: readonly string[];
  readonly mac: string;
  /** Pod addresses with the prefix length of their subnet. */
  readonly cidrs: readonly string[];
  readonly gateways: readonly string[];
  readonly routes: readonly { dest: string; nextHop: string }[];
  readonly tunnelId?: number;
}

interface PodFacts {
  readonly namespace: string;
  readonly name: string;
  uid?: string;
  node?: string;
  remote: boolean;
  networks: PodNetwork[];
}

/** ovn-kubernetes' GetSecondaryNetworkPrefix: the network (or NAD) name with - and / as dots, plus "_". */
const secondaryPrefix = (name: string): string => `${name.replace(/[-/]/g, ".")}_`;

function podName(lsp: string, namespace: string, nad: string | undefined): string | undefined {
  const candidates = [
    ...(nad === undefined ? [] : [`${secondaryPrefix(nad)}${namespace}_`]),
    `${namespace}_`,
  ];
  for (const c of candidates) if (lsp.startsWith(c) && lsp.length > c.length) return lsp.slice(c.length);
  const at = lsp.indexOf(`_${namespace}_`);
  return at < 0 ? undefined : lsp.slice(at + namespace.length + 2) || undefined;
}

/** The prefix (with length) of the subnet an address is in, among a switch's known subnets. */
function withPrefix(ip: string, subnets: readonly string[]): string {
  const p = parseIp(ip);
  const c = subnets
    .map((s) => parseCidr(s))
    .find((s): s is Cidr => s !== undefined && p !== undefined && contains(s, p));
  return c === undefined ? `${ip}/${familyOf(ip) === 6 ? 128 : 32}` : `${ip}/${c.prefix}`;
}

/** Subnets and gateway addresses of a switch: from the router ports on it, else its other_config. */
function switchSubnets(z: ZoneView, ls: OvsdbRow): { subnets: string[]; gateways: string[] } {
  const routerCidrs = stringsOf(ls, "ports").flatMap((u) => {
    const p = z.nb === undefined ? undefined : rowByUuid(z.nb, "Logical_Switch_Port", u);
    if (p === undefined || stringColumn(p, "type") !== "router") return [];
    const lrp = options(p)["router-port"];
    return lrp === undefined ? [] : z.networks(lrp);
  });
  const oc = otherConfig(ls);
  const own = [
    ...(oc.subnet === undefined ? [] : [oc.subnet]),
    ...(oc.ipv6_prefix === undefined ? [] : [`${oc.ipv6_prefix}/64`]),
  ];
  return {
    subnets: uniq([...routerCidrs, ...own].flatMap((c) => networkOf(c) ?? [])),
    gateways: routerCidrs.map(addrOf),
  };
}

const inSameSubnet = (gw: string, subnet: string, ip: string): boolean => {
  const c = parseCidr(subnet);
  const g = parseIp(gw);
  const p = parseIp(ip);
  return c !== undefined && g !== undefined && p !== undefined && contains(c, g) && contains(c, p);
};

/**
 * The pod ports of a zone. The node is the chassis the port is bound to (its hostname), else the port's
 * requested-chassis, else the node switch it is on; a candidate that names a known node wins.
 */
function zonePods(z: ZoneView, cluster: ClusterFacts, knownNodes: ReadonlySet<string>): PodFacts[] {
  const out: PodFacts[] = [];
  const nodeSwitches = new Set(z.nodeSwitches());
  const subnetsOf = new Map<string, { subnets: string[]; gateways: string[] }>();
  for (const lsp of z.lsps.values()) {
    const ids = externalIds(lsp);
    const namespace = ids.namespace;
    if (ids.pod !== "true" || namespace === undefined) continue;
    const lspName = stringColumn(lsp, "name") ?? "";
    const nad = ids["k8s.ovn.org/nad"];
    const network = ids["k8s.ovn.org/network"];
    const secondary = nad !== undefined || (network !== undefined && network !== DEFAULT_NETWORK);
    const name = podName(lspName, namespace, secondary ? (nad ?? network) : undefined);
    if (name === undefined) continue;
    const addrText = stringsOf(lsp, "addresses").find((a) => a !== "dynamic" && a !== "unknown");
    const parsed = parseAddresses(addrText ?? stringsOf(lsp, "dynamic_addresses")[0] ?? "");
    if (parsed.mac === undefined) continue;
    const ips = parsed.ips.flatMap((ip) => ipText(ip) ?? []);
    const ls = z.switchOfPort.get(lsp.uuid);
    let known = ls === undefined ? undefined : subnetsOf.get(ls.uuid);
    if (ls !== undefined && known === undefined) {
      known = switchSubnets(z, ls);
      subnetsOf.set(ls.uuid, known);
    }
    const { subnets, gateways } = known ?? { subnets: [], gateways: [] };

    const binding = z.bindings.get(lspName);
    const chassisUuid = binding === undefined ? undefined : stringsOf(binding, "chassis")[0];
    const chassis = chassisUuid === undefined ? undefined : z.chassisByUuid(chassisUuid);
    const candidates = [
      chassis === undefined ? undefined : stringColumn(chassis, "hostname"),
      options(lsp)["requested-chassis"],
      !secondary && ls !== undefined && nodeSwitches.has(ls) ? stringColumn(ls, "name") : undefined,
    ].filter((c): c is string => c !== undefined && c !== "");
    const node = candidates.find((c) => knownNodes.has(c)) ?? candidates[0];

    // a user-defined network is the pod's primary one when its switch says so
    const role =
      !secondary || (ls !== undefined && externalIds(ls)["k8s.ovn.org/role"] === "primary")
        ? "primary"
        : "secondary";
    const gatewayFor = (ip: string): string | undefined =>
      gateways.find((g) => subnets.some((s) => inSameSubnet(g, s, ip)));
    const podGateways = role === "primary" ? ips.flatMap((ip) => gatewayFor(ip) ?? []) : [];
    const routes = secondary
      ? []
      : ips.flatMap((ip) => {
          const gw = gatewayFor(ip);
          if (gw === undefined) return [];
          const f = familyOf(ip);
          return [...cluster.clusterSubnets, ...cluster.joinSubnets]
            .filter((s) => familyOf(addrOf(s)) === f)
            .map((dest) => ({ dest, nextHop: gw }));
        });
    const tunnelId = secondary ? tunnelKey(lsp) : undefined;
    const uid = options(lsp)["iface-id-ver"];
    out.push({
      namespace,
      name,
      ...(uid === undefined || uid === "" ? {} : { uid }),
      ...(node === undefined ? {} : { node }),
      remote: stringColumn(lsp, "type") === "remote",
      networks: [
        {
          key: secondary ? (nad ?? network ?? "") : DEFAULT_NETWORK,
          role,
          ips,
          mac: parsed.mac,
          cidrs: ips.map((ip) => withPrefix(ip, subnets)),
          gateways: podGateways,
          routes,
          ...(tunnelId === undefined ? {} : { tunnelId }),
        },
      ],
    });
  }
  return out;
}

function podNetworksAnnotation(p: PodFacts): string {
  const hasPrimaryUdn = p.networks.some((n) => n.key !== DEFAULT_NETWORK && n.role === "primary");
  const entries: Record<string, unknown> = {};
  for (const n of p.networks) {
    const role = n.key === DEFAULT_NETWORK && hasPrimaryUdn ? "infrastructure-locked" : n.role;
    entries[n.key] = {
      ip_addresses: n.cidrs,
      mac_address: n.mac,
      ...(n.gateways.length > 0 ? { gateway_ips: n.gateways } : {}),
      ...(n.routes.length > 0 ? { routes: n.routes } : {}),
      ...(n.cidrs.length === 1 ? { ip_address: n.cidrs[0] } : {}),
      ...(n.cidrs.length === 1 && n.gateways.length === 1 ? { gateway_ip: n.gateways[0] } : {}),
      ...(n.tunnelId === undefined ? {} : { tunnel_id: n.tunnelId }),
      role,
    };
  }
  return JSON.stringify(sortedKeys(entries));
}

function podObject(p: PodFacts, nodes: ReadonlyMap<string, NodeFacts>, primary: Family): Obj {
  const def = p.networks.find((n) => n.key === DEFAULT_NETWORK) ?? p.networks[0];
  const ips = withFamilyOrder(def?.ips ?? [], primary);
  const node = p.node === undefined ? undefined : nodes.get(p.node);
  const hostIps = node === undefined ? [] : nodeIps(node, primary);
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: derivedMeta(p.name, p.namespace, {
      ...(p.uid === undefined ? {} : { uid: p.uid }),
      annotations: { "k8s.ovn.org/pod-networks": podNetworksAnnotation(p) },
    }),
    spec: { ...(p.node === undefined ? {} : { nodeName: p.node }), hostNetwork: false },
    status: {
      phase: "Running",
      ...(hostIps[0] === undefined ? {} : { hostIP: hostIps[0], hostIPs: hostIps.map((ip) => ({ ip })) }),
      ...(ips[0] === undefined ? {} : { podIP: ips[0] }),
      podIPs: ips.map((ip) => ({ ip })),
    },
  };
}

/** A pod's ports across zones and networks, one pod each (a zone's own port wins over a remote one). */
function mergePods(all: readonly PodFacts[]): PodFacts[] {
  const byKey = new Map<string, PodFacts>();
  for (const p of all) {
    const key = `${p.namespace}/${p.name}`;
    const seen = byKey.get(key);
    if (seen === undefined) {
      byKey.set(key, { ...p, networks: [...p.networks] });
      continue;
    }
    for (const n of p.networks) {
      const i = seen.networks.findIndex((x) => x.key === n.key);
      if (i < 0) seen.networks.push(n);
      else if (!p.remote) seen.networks[i] = n;
    }
    if (!p.remote || seen.remote) {
      if (p.node !== undefined) seen.node = p.node;
      seen.uid ??= p.uid;
      seen.remote = seen.remote && p.remote;
    }
  }
  // A pod seen only on secondary networks still has its default network somewhere we could not read.
  return [...byKey.values()].filter((p) => p.networks.some((n) => n.key === DEFAULT_NETWORK));
}

// ---------------------------------------------------------------------------------------------------
// services and endpoint slices

interface Backend {
  readonly ip: string;
  readonly port: number;
}

interface Vip extends LoadBalancerVip {
  readonly protocol: string;
}

const isMasquerade = (ip: string): boolean => {
  const p = parseIp(ip);
  if (p === undefined) return false;
  const nets = ["169.254.0.0/16", "fd69::/16", "fe80::/10"].flatMap((c) => parseCidr(c) ?? []);
  return nets.some((c) => contains(c, p));
};

function serviceVips(z: ZoneView, nodeIps: ReadonlySet<string>): Map<string, Vip[]> {
  const out = new Map<string, Vip[]>();
  if (z.nb === undefined) return out;
  for (const lb of tableRows(z.nb, "Load_Balancer")) {
    const ids = externalIds(lb);
    const owner = ids["k8s.ovn.org/owner"];
    if (ids["k8s.ovn.org/kind"] !== "Service" || owner?.includes("/") !== true) continue;
    const protocol = (stringColumn(lb, "protocol") ?? "tcp").toUpperCase();
    const name = stringColumn(lb, "name") ?? "";
    const vips = out.get(owner) ?? [];
    for (const [key, value] of Object.entries(mapColumn(lb, "vips"))) {
      const { host, port } = parseHostPort(key);
      if (port === undefined) continue;
      const ip = ipText(host);
      const backends = String(value)
        .split(",")
        .filter((b) => b.trim() !== "")
        .flatMap((b): Backend[] => {
          const hp = parseHostPort(b.trim());
          const bip = ipText(hp.host);
          return bip === undefined || hp.port === undefined ? [] : [{ ip: bip, port: hp.port }];
        });
      const node = ip === undefined ? host.startsWith("^") : nodeIps.has(ip) || isMasquerade(ip);
      if (ip === undefined && !node) continue;
      vips.push({ lb: name, host: ip ?? host, port, protocol, backends, node });
    }
    out.set(owner, vips);
  }
  return out;
}

const commonBits = (a: string, b: string): number => {
  const x = parseIp(a);
  const y = parseIp(b);
  if (x === undefined || y === undefined || x.family !== y.family) return 0;
  const bits = x.family === 4 ? 32 : 128;
  let diff = x.value ^ y.value;
  let n = bits;
  while (diff > 0n) {
    diff >>= 1n;
    n--;
  }
  return n;
};

interface ServicePortFacts {
  readonly protocol: string;
  readonly port: number;
  name?: string;
  targetPort?: number;
  nodePort?: number;
  /** backends per family, deduplicated */
  readonly backends: Map<string, Backend>;
}

interface ServiceFacts {
  readonly namespace: string;
  readonly name: string;
  readonly ips: string[];
  readonly ports: ServicePortFacts[];
  readonly policies: TrafficPolicies;
}

function serviceFacts(owner: string, vips: readonly Vip[]): ServiceFacts {
  const [namespace = "", name = ""] = owner.split("/");
  const ips = uniq(vips.filter((v) => !v.node).map((v) => v.host));
  const ports = new Map<string, ServicePortFacts>();
  for (const v of vips.filter((x) => !x.node)) {
    const key = `${v.protocol}/${v.port}`;
    const sp = ports.get(key) ?? { protocol: v.protocol, port: v.port, backends: new Map<string, Backend>() };
    for (const b of v.backends) sp.backends.set(`${b.ip}:${b.port}`, b);
    ports.set(key, sp);
  }
  const list = [...ports.values()].sort((a, b) => a.port - b.port || byText(a.protocol, b.protocol));
  for (const v of vips.filter((x) => x.node)) {
    const same = list.filter((p) => p.protocol === v.protocol);
    const targets = new Set(v.backends.map((b) => b.port));
    const match =
      same.length === 1
        ? same[0]
        : same.find(
            (p) =>
              targets.size > 0 &&
              [...p.backends.values()].length > 0 &&
              [...targets].every((t) => [...p.backends.values()].some((b) => b.port === t)),
          );
    if (match === undefined) continue;
    match.nodePort ??= v.port;
    for (const b of v.backends) match.backends.set(`${b.ip}:${b.port}`, b);
  }
  for (const p of list) {
    const targets = uniq([...p.backends.values()].map((b) => b.port));
    if (targets.length === 1) p.targetPort = targets[0];
    if (list.length > 1) p.name = `${p.protocol.toLowerCase()}-${p.port}`;
  }
  return { namespace, name, ips, ports: list, policies: trafficPoliciesOf(vips) };
}

/** The cluster IP of each family: the only one, or the one nearest the other services' cluster IPs. */
function clusterIps(
  s: ServiceFacts,
  reference: readonly string[],
  primary: Family,
): { cluster: string[]; external: string[] } {
  const cluster: string[] = [];
  for (const f of [4, 6] as const) {
    const mine = s.ips.filter((ip) => familyOf(ip) === f);
    if (mine.length === 0) continue;
    const refs = reference.filter((r) => familyOf(r) === f && !mine.includes(r));
    const score = (ip: string): number => refs.reduce((sum, r) => sum + commonBits(ip, r), 0);
    const best = [...mine].sort((a, b) => score(b) - score(a) || byText(a, b))[0];
    if (best !== undefined) cluster.push(best);
  }
  const ordered = withFamilyOrder(cluster, primary);
  return { cluster: ordered, external: s.ips.filter((ip) => !ordered.includes(ip)).sort(byText) };
}

function serviceObject(s: ServiceFacts, ips: { cluster: string[]; external: string[] }): Obj {
  const nodePort = s.ports.some((p) => p.nodePort !== undefined);
  return {
    apiVersion: "v1",
    kind: "Service",
    metadata: derivedMeta(s.name, s.namespace),
    spec: {
      type: nodePort ? "NodePort" : "ClusterIP",
      ...(ips.cluster[0] === undefined ? {} : { clusterIP: ips.cluster[0] }),
      clusterIPs: ips.cluster,
      ipFamilies: ips.cluster.map((ip) => `IPv${familyOf(ip) ?? 4}`),
      ...(ips.external.length > 0 ? { externalIPs: ips.external } : {}),
      ports: s.ports.map((p) => ({
        ...(p.name === undefined ? {} : { name: p.name }),
        protocol: p.protocol,
        port: p.port,
        ...(p.targetPort === undefined ? {} : { targetPort: p.targetPort }),
        ...(p.nodePort === undefined ? {} : { nodePort: p.nodePort }),
      })),
      ...s.policies,
    },
  };
}

function endpointSlices(s: ServiceFacts, podsByIp: ReadonlyMap<string, PodFacts>): Obj[] {
  const slices: Obj[] = [];
  for (const f of [4, 6] as const) {
    // endpoint IP → its port per service port ("TCP/80" → 8080)
    const perIp = new Map<string, Map<string, number>>();
    for (const p of s.ports) {
      for (const b of p.backends.values()) {
        if (familyOf(b.ip) !== f) continue;
        const m = perIp.get(b.ip) ?? new Map<string, number>();
        m.set(`${p.protocol}/${p.port}`, b.port);
        perIp.set(b.ip, m);
      }
    }
    // as the EndpointSlice controller does: one slice per distinct set of ports
    const groups = new Map<string, string[]>();
    for (const [ip, m] of perIp) {
      const sig = [...m.entries()]
        .sort(([a], [b]) => byText(a, b))
        .map(([k, v]) => `${k}=${v}`)
        .join(",");
      groups.set(sig, [...(groups.get(sig) ?? []), ip]);
    }
    let i = 0;
    for (const [sig, ips] of groups) {
      const ports = sig.split(",").map((entry) => {
        const [key = "", port = ""] = entry.split("=");
        const sp = s.ports.find((p) => `${p.protocol}/${p.port}` === key);
        return { name: sp?.name ?? "", protocol: sp?.protocol ?? "TCP", port: Number(port) };
      });
      slices.push({
        apiVersion: "discovery.k8s.io/v1",
        kind: "EndpointSlice",
        metadata: derivedMeta(`${s.name}-ovn-ipv${f}${i === 0 ? "" : `-${i}`}`, s.namespace, {
          labels: { "kubernetes.io/service-name": s.name },
        }),
        addressType: `IPv${f}`,
        // in the load balancers' order, which is the order OVN picks from
        endpoints: ips.map((ip) => {
          const pod = podsByIp.get(ip);
          return {
            addresses: [ip],
            conditions: { ready: true, serving: true, terminating: false },
            ...(pod?.node === undefined ? {} : { nodeName: pod.node }),
            ...(pod === undefined
              ? {}
              : {
                  targetRef: {
                    kind: "Pod",
                    namespace: pod.namespace,
                    name: pod.name,
                    ...(pod.uid === undefined ? {} : { uid: pod.uid }),
                  },
                }),
          };
        }),
        ports,
      });
      i++;
    }
  }
  return slices;
}

// ---------------------------------------------------------------------------------------------------
// policies and namespaces

const NAMESPACE_OWNERS = new Set(["Namespace", "NetpolNamespace", "EgressFirewall", "MulticastNS"]);

function policiesAndNamespaces(z: ZoneView): { policies: [string, string][]; namespaces: string[] } {
  const policies: [string, string][] = [];
  const namespaces: string[] = [];
  if (z.nb === undefined) return { policies, namespaces };
  for (const table of ["ACL", "Port_Group", "Address_Set"]) {
    for (const r of tableRows(z.nb, table)) {
      const ids = externalIds(r);
      const type = ids["k8s.ovn.org/owner-type"];
      const name = ids["k8s.ovn.org/name"];
      if (type === "NetworkPolicy" && name !== undefined) {
        const at = name.indexOf(":");
        if (at > 0 && at < name.length - 1) policies.push([name.slice(0, at), name.slice(at + 1)]);
      } else if (type !== undefined && NAMESPACE_OWNERS.has(type) && name !== undefined && name !== "") {
        namespaces.push(name);
      } else if (
        type === undefined &&
        table === "ACL" &&
        ids.namespace !== undefined &&
        ids.policy !== undefined
      ) {
        // before db_object_ids (ovn-kubernetes < 4.13): {namespace, policy, policy_type}
        policies.push([ids.namespace, ids.policy]);
      }
    }
  }
  return { policies, namespaces };
}

// ---------------------------------------------------------------------------------------------------

/**
 * The Kubernetes objects ovn-kubernetes' databases describe, from every zone given (each zone's NB holds
 * its own nodes' pods, so the union over zones is the cluster). Order: Namespaces, Nodes, Pods, Services,
 * EndpointSlices, NetworkPolicies, AdminNetworkPolicies and the BaselineAdminNetworkPolicy, each sorted by
 * namespace and name.
 */
export function kubernetesFromOvn(zones: readonly OvnZoneDatabases[]): KubeObject[] {
  const views = zones.map((z) => new ZoneView(z.nb, z.sb));
  const cluster = clusterFacts(views);
  const nodes = allNodes(views);
  const known = new Set(nodes.keys());
  const pods = mergePods(views.flatMap((z) => zonePods(z, cluster, known)));
  const primary = primaryFamily(pods);
  const udnSubnets = layer3NodeSubnets(zones.map((z) => z.nb));
  const services = allServices(views, allNodeIps(views, nodes, primary));
  const reference = soleServiceIps(services);
  const podsByIp = new Map<string, PodFacts>();
  for (const p of pods) for (const n of p.networks) for (const ip of n.ips) podsByIp.set(ip, p);
  const found = views.map((z) => policiesAndNamespaces(z));
  const policyKeys = uniq(found.flatMap((f) => f.policies.map(([ns, n]) => `${ns}/${n}`))).sort(byText);
  const namespaces = uniq([
    ...pods.map((p) => p.namespace),
    ...services.map((s) => s.namespace),
    ...policyKeys.map((k) => k.split("/")[0] ?? ""),
    ...found.flatMap((f) => f.namespaces),
  ])
    .filter((ns) => ns !== "")
    .sort(byText);
  const sortedServices = [...services].sort(
    (a, b) => byText(a.namespace, b.namespace) || byText(a.name, b.name),
  );
  return [
    ...namespaces.map(namespaceObject),
    ...[...nodes.values()]
      .sort((a, b) => byText(a.name, b.name))
      .map((n) => nodeObject(n, cluster.networkIds, primary, udnSubnets.get(n.name))),
    ...[...pods]
      .sort((a, b) => byText(a.namespace, b.namespace) || byText(a.name, b.name))
      .map((p) => podObject(p, nodes, primary)),
    ...sortedServices.map((s) => serviceObject(s, clusterIps(s, reference, primary))),
    ...sortedServices.flatMap((s) => endpointSlices(s, podsByIp)),
    ...policyKeys.map(networkPolicyObject),
    ...adminNetworkPolicyObjects(views),
    ...egressIPObjectsFromOvn(zones.map((z) => z.nb)),
    ...egressFirewallObjectsFromOvn(zones.map((z) => z.nb)),
  ];
}

/** Every node, by name: each zone's own first, then what zones know of the others. */
function allNodes(views: readonly ZoneView[]): Map<string, NodeFacts> {
  const nodes = new Map<string, NodeFacts>();
  const add = (n: NodeFacts): void => {
    const seen = nodes.get(n.name);
    nodes.set(n.name, seen === undefined ? n : mergeNode(seen, n));
  };
  const localPerZone = views.map((z) => localNodes(z));
  for (const list of localPerZone) list.forEach(add);
  const localNames = new Set([...nodes.values()].filter((n) => n.local).map((n) => n.name));
  for (const z of views) remoteNodes(z, localNames).forEach(add);
  const interconnect = views.some((z) => z.interconnect);
  for (const n of nodes.values()) {
    // a node known only from another zone: ovn-kubernetes' interconnect puts each node in its own zone
    if (!n.local) n.zone = interconnect ? n.name : "global";
  }
  return nodes;
}

/** The family of the first dual-stack pod's first default-network IP; IPv4 when no pod is dual-stack. */
function primaryFamily(pods: readonly PodFacts[]): Family {
  const firstDual = pods
    .flatMap((p) => p.networks.filter((n) => n.key === DEFAULT_NETWORK))
    .find((n) => new Set(n.ips.map(familyOf)).size > 1);
  return (firstDual?.ips[0] === undefined ? undefined : familyOf(firstDual.ips[0])) ?? 4;
}

/** The nodes' own addresses (and tunnel endpoints, gateway routers' physical IPs): a VIP on one is a node port. */
function allNodeIps(
  views: readonly ZoneView[],
  nodes: ReadonlyMap<string, NodeFacts>,
  primary: Family,
): Set<string> {
  const ips = new Set(
    [...nodes.values()].flatMap((n) => [
      ...nodeIps(n, primary),
      ...n.encapIps.flatMap((ip) => ipText(ip) ?? []),
    ]),
  );
  for (const z of views)
    for (const gr of z.routers.values()) {
      const phys = externalIds(gr).physical_ips ?? externalIds(gr).physical_ip ?? "";
      for (const ip of phys.split(",")) {
        const t = ipText(ip.trim());
        if (t !== undefined) ips.add(t);
      }
    }
  return ips;
}

/** The services of every zone's load balancers (a service has one in every zone), those with an IP. */
function allServices(views: readonly ZoneView[], nodeIps: ReadonlySet<string>): ServiceFacts[] {
  const vipsByOwner = new Map<string, Vip[]>();
  for (const z of views)
    for (const [owner, vips] of serviceVips(z, nodeIps))
      vipsByOwner.set(owner, [...(vipsByOwner.get(owner) ?? []), ...vips]);
  return [...vipsByOwner.entries()]
    .map(([owner, vips]) => serviceFacts(owner, vips))
    .filter((s) => s.ips.length > 0);
}

/** The IPs that are surely cluster IPs, to tell the others by: each service's only IP of a family. */
function soleServiceIps(services: readonly ServiceFacts[]): string[] {
  return services.flatMap((s) => {
    const v4 = s.ips.filter((ip) => familyOf(ip) === 4);
    const v6 = s.ips.filter((ip) => familyOf(ip) === 6);
    return [...(v4.length === 1 ? v4 : []), ...(v6.length === 1 ? v6 : [])];
  });
}

function namespaceObject(ns: string): Obj {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: derivedMeta(ns, undefined, { labels: { "kubernetes.io/metadata.name": ns } }),
    status: { phase: "Active" },
  };
}

/**
 * The AdminNetworkPolicies and the BaselineAdminNetworkPolicy whose ACLs a zone holds (owner-type and
 * k8s.ovn.org/name of ovnkube-controller's ACLs): metadata, and an ANP's spec.priority read back from its
 * ACL priorities; subjects, peers, rule names and actions stay in OVN (the drop explanation reads the ACLs).
 */
function adminNetworkPolicyObjects(views: readonly ZoneView[]): Obj[] {
  const found = new Map<string, { kind: string; name: string; priority: number | undefined }>();
  for (const z of views)
    for (const acl of z.nb === undefined ? [] : tableRows(z.nb, "ACL")) {
      const r = adminPolicyRuleOf(acl);
      if (r === undefined || r.name === "") continue;
      const key = `${r.kind}/${r.name}`;
      found.set(key, { kind: r.kind, name: r.name, priority: found.get(key)?.priority ?? r.policyPriority });
    }
  return [...found.entries()]
    .sort(([a], [b]) => byText(a, b))
    .map(([, p]) => ({
      apiVersion: "policy.networking.k8s.io/v1alpha1",
      kind: p.kind,
      metadata: derivedMeta(p.name),
      ...(p.priority === undefined ? {} : { spec: { priority: p.priority } }),
    }));
}

/** Metadata only: the rules stay in the ACLs. */
function networkPolicyObject(key: string): Obj {
  const [ns = "", name = ""] = key.split("/");
  return {
    apiVersion: "networking.k8s.io/v1",
    kind: "NetworkPolicy",
    metadata: derivedMeta(name, ns),
  };
}
