import { createHash } from "node:crypto";
import { InputError } from "../errors.js";
import {
  contains,
  formatCidr,
  formatIp,
  macFromIp,
  nthIp,
  nthSubnet,
  overlaps,
  parseCidr,
  parseIp,
  type Cidr,
  type Family,
  type Ip,
} from "../net/ip.js";
import type {
  ClusterShape,
  GatewayMode,
  IPBlock,
  NamespaceSpec,
  NetworkPolicySpec,
  NodeSpec,
  PodSpec,
  Protocol,
  Scenario,
  ServicePort,
  ServiceSpec,
  TrafficPolicy,
  UserDefinedNetworkSpec,
} from "./scenario.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";
import { egressFirewallProblems } from "./egress-firewall-check.js";
import type { DnsRecordSpec, EgressFirewallSpec } from "./egress-firewall-scenario.js";
import { resolveEgressIPs, type LabEgressIP } from "./egress-ip.js";
import { nadOf } from "../udn-names.js";
import { podNetwork, udnTopology, type LabPodNetwork, type LabUdnTopology } from "./udn-topology.js";

/** Per-family values of a node or pod; a family the cluster does not use is absent. */
export type ByFamily<T> = Partial<Record<Family, T>>;

/** A node with every address ovn-kubernetes derives for it. */
export interface LabNode {
  readonly name: string;
  readonly nodeId: number;
  /** OVS `system-id` = SB Chassis name, a UUID as on a real node. */
  readonly chassisId: string;
  /** Interconnect: one zone per node, named after it. Central: every node in zone "global". */
  readonly zone: string;
  readonly ip: string;
  readonly ipv6?: string;
  /** MAC of breth0 (and of the gateway router's external port, as in shared-gateway mode). */
  readonly mac: string;
  readonly subnets: ByFamily<string>;
  /** rtos-<node> addresses (the pods' default gateway), with prefix length. */
  readonly gatewayCidrs: ByFamily<string>;
  readonly gatewayMac: string;
  /** Management port k8s-<node> (ovn-k8s-mp0) address. */
  readonly mgmtIps: ByFamily<string>;
  readonly mgmtMac: string;
  /** GR_<node> join address (rtoj-GR_<node>). */
  readonly joinIps: ByFamily<string>;
  readonly joinMac: string;
  /** rtots-<node> transit switch address (interconnect). */
  readonly transitIps: ByFamily<string>;
  readonly transitMac: string;
}

export interface LabPod {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly node: string;
  readonly hostNetwork: boolean;
  readonly ips: ByFamily<string>;
  readonly mac: string;
  /** Logical switch port and OVS iface-id: <namespace>_<name>. */
  readonly lsp: string;
  /** Host side interface name on br-int (a container id prefix, as the CNI names veths). */
  readonly iface: string;
  readonly labels: Readonly<Record<string, string>>;
  readonly containerPorts: readonly { port: number; protocol: Protocol; name?: string }[];
  /** Its interface on its namespace's primary user-defined network, when that network has a topology. */
  readonly primaryNetwork?: LabPodNetwork;
}

export interface LabServicePort {
  readonly name: string;
  readonly protocol: Protocol;
  readonly port: number;
  readonly targetPort: number;
  readonly nodePort?: number;
}

export interface LabService {
  readonly namespace: string;
  readonly name: string;
  readonly uid: string;
  readonly type: "ClusterIP" | "NodePort";
  readonly clusterIPs: ByFamily<string>;
  readonly ports: readonly LabServicePort[];
  readonly selector?: Readonly<Record<string, string>>;
  /** Pods matching the selector, in scenario order. */
  readonly endpoints: readonly LabPod[];
  readonly externalTrafficPolicy: TrafficPolicy;
  readonly internalTrafficPolicy: TrafficPolicy;
}

export interface LabUserDefinedNetwork {
  readonly name: string;
  readonly id: number;
  readonly namespaces: readonly string[];
  readonly topology?: LabUdnTopology;
}

/** Label ovn-kubernetes requires on a namespace whose pods get a primary user-defined network. */
export const PRIMARY_UDN_NAMESPACE_LABEL = "k8s.ovn.org/primary-user-defined-network";

export interface LabCluster {
  readonly name: string;
  readonly shape: ClusterShape;
  readonly gatewayMode: GatewayMode;
  readonly families: readonly Family[];
  readonly clusterNetwork: ByFamily<string>;
  readonly underlay: { readonly cidr: string; readonly gateway: string; readonly gatewayV6?: string };
  readonly nodes: readonly LabNode[];
  readonly namespaces: readonly NamespaceSpec[];
  readonly pods: readonly LabPod[];
  readonly services: readonly LabService[];
  readonly networkPolicies: readonly NetworkPolicySpec[];
  readonly egressFirewalls: readonly EgressFirewallSpec[];
  readonly dnsRecords: readonly DnsRecordSpec[];
  readonly userDefinedNetworks: readonly LabUserDefinedNetwork[];
  /** EgressIPs with their node assignments and served pods (absent in labs from before them). */
  readonly egressIPs?: readonly LabEgressIP[];
}

export const TRANSIT_NETWORK: Record<Family, string> = { 4: "100.88.0.0/16", 6: "fd97::/64" };
export const JOIN_NETWORK: Record<Family, string> = { 4: "100.64.0.0/16", 6: "fd98::/64" };
const DEFAULT_CLUSTER_NETWORK: Record<Family, string> = { 4: "10.244.0.0/16", 6: "fd00:10:244::/48" };
const NODE_SUBNET_PREFIX: Record<Family, number> = { 4: 24, 6: 64 };

/** The MAC docker gives a container on a bridge network: 02:42 + the IPv4 address. */
export function dockerMac(ipv4: string): string {
  const ip = parseIp(ipv4);
  return `02:42:${(ip?.family === 4 ? macFromIp(ip) : "0a:58:00:00:00:00").slice(6)}`;
}

/** A stable UUID (v5 layout) from a name, so the same scenario gives the same chassis ids. */
export function stableUuid(name: string): string {
  const h = createHash("sha1").update(`ovnkube-trace-lab:${name}`).digest("hex");
  const variant = ((parseInt(h.slice(16, 18), 16) & 0x3f) | 0x80).toString(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-5${h.slice(13, 16)}-${variant}${h.slice(18, 20)}-${h.slice(20, 32)}`;
}

function must<T>(v: T | undefined): T {
  if (v === undefined) throw new Error("internal: unexpected undefined");
  return v;
}

/** Collects every problem of a scenario, each prefixed with the field it is about. */
class Problems {
  readonly list: string[] = [];
  add(field: string, message: string): void {
    this.list.push(`${field}: ${message}`);
  }
  throwIfAny(what: string): void {
    if (this.list.length > 0) {
      throw new InputError(`${what} is invalid:\n  ${this.list.join("\n  ")}`, {
        hint: "fix the fields named above (the scenario format is documented in docs/scenario.md)",
      });
    }
  }
}

function parseFamilyCidr(p: Problems, field: string, text: string, family: Family): Cidr | undefined {
  const c = parseCidr(text);
  if (c === undefined) p.add(field, `"${text}" is not a CIDR`);
  else if (c.family !== family) p.add(field, `"${text}" is not an IPv${family} CIDR`);
  return c?.family === family ? c : undefined;
}

const byFamily = <T>(fams: readonly Family[], f: (fam: Family) => T | undefined): ByFamily<T> => {
  const out: ByFamily<T> = {};
  for (const fam of fams) {
    const v = f(fam);
    if (v !== undefined) out[fam] = v;
  }
  return out;
};

const famKey = (f: Family): "ipv4" | "ipv6" => (f === 4 ? "ipv4" : "ipv6");

/** The networks every part of a scenario is checked against and takes its addresses from. */
interface Networks {
  readonly shape: ClusterShape;
  readonly families: readonly Family[];
  readonly cluster: ByFamily<Cidr>;
  readonly underlay: Cidr | undefined;
  readonly underlayGateway: string;
}

/** Who holds each IP so far ("node a", "pod ns/p", "service ns/s"): an IP belongs to one object. */
type IpOwners = Map<string, string>;

/**
 * Checks a (schema-valid) scenario for what a schema cannot see — unknown node, duplicate IP,
 * pod outside its node's subnet — and derives every address the lab and the Kubernetes objects need.
 */
export function resolveScenario(s: Scenario, shapeOverride?: ClusterShape): LabCluster {
  const p = new Problems();
  const net = resolveNetworks(p, s, shapeOverride ?? s.shape ?? "central");
  const nodes = resolveNodes(p, s.nodes, net);
  const ipOwners: IpOwners = new Map(nodes.map((n) => [n.ip, `node ${n.name}`]));
  const pods = resolvePods(p, s.pods ?? [], nodes, ipOwners);
  const services = resolveServices(p, s.services ?? [], net, pods, ipOwners);
  if (s.gatewayMode === "local") checkNoNodePorts(p, services);
  checkNetworkPolicies(p, s.networkPolicies ?? []);
  for (const [field, message] of egressFirewallProblems(s.egressFirewalls ?? [], s.dnsRecords ?? []))
    p.add(field, message);
  const userDefinedNetworks = resolveUserDefinedNetworks(
    p,
    s.userDefinedNetworks ?? [],
    nodes.map((n) => n.name),
  );
  const podsOnNetworks = attachPrimaryNetworks(p, pods, userDefinedNetworks);
  const eips = resolveEgressIPs(
    s.egressIPs ?? [],
    s.nodes,
    nodes,
    s.namespaces ?? [],
    podsOnNetworks,
    s.underlay?.cidr ?? "172.18.0.0/16",
  );
  for (const [field, message] of eips.problems) p.add(field, message);
  p.throwIfAny(`scenario "${s.name}"`);
  return {
    name: s.name,
    shape: net.shape,
    gatewayMode: s.gatewayMode ?? "shared",
    families: net.families,
    clusterNetwork: byFamily(net.families, (f) => net.cluster[f] && formatCidr(must(net.cluster[f]))),
    underlay: {
      cidr: net.underlay ? formatCidr(net.underlay) : "172.18.0.0/16",
      gateway: net.underlayGateway,
      ...(s.underlay?.gatewayV6 === undefined ? {} : { gatewayV6: s.underlay.gatewayV6 }),
    },
    nodes,
    namespaces: resolveNamespaces(s, userDefinedNetworks),
    pods: podsOnNetworks,
    services,
    networkPolicies: s.networkPolicies ?? [],
    egressFirewalls: s.egressFirewalls ?? [],
    dnsRecords: s.dnsRecords ?? [],
    userDefinedNetworks,
    ...(eips.egressIPs.length === 0 ? {} : { egressIPs: eips.egressIPs }),
  };
}

/** Families: those with an explicit cluster network, or used by a node subnet or a pod IP. */
function familiesOf(s: Scenario): Family[] {
  const used = new Set<Family>(s.clusterNetwork === undefined ? [4] : []);
  if (s.clusterNetwork?.ipv4 !== undefined) used.add(4);
  if (s.clusterNetwork?.ipv6 !== undefined) used.add(6);
  for (const n of s.nodes) if (n.subnets?.ipv6 !== undefined) used.add(6);
  for (const pod of s.pods ?? []) for (const ip of pod.ips ?? []) if (parseIp(ip)?.family === 6) used.add(6);
  return ([4, 6] as const).filter((f) => used.has(f));
}

function resolveNetworks(p: Problems, s: Scenario, shape: ClusterShape): Networks {
  const families = familiesOf(s);
  const cluster = byFamily(families, (f) =>
    parseFamilyCidr(
      p,
      `clusterNetwork.${famKey(f)}`,
      s.clusterNetwork?.[famKey(f)] ?? DEFAULT_CLUSTER_NETWORK[f],
      f,
    ),
  );
  const underlay = parseFamilyCidr(p, "underlay.cidr", s.underlay?.cidr ?? "172.18.0.0/16", 4);
  const underlayGateway = s.underlay?.gateway ?? (underlay ? formatIp(nthIp(underlay, 1)) : "172.18.0.1");
  return { shape, families, cluster, underlay, underlayGateway };
}

/** Names, ids and underlay IPs unique; pod subnets inside the cluster network and not overlapping. */
function resolveNodes(p: Problems, specs: readonly NodeSpec[], net: Networks): LabNode[] {
  const names = new Set<string>();
  const ids = new Map<number, string>();
  const ips = new Map<string, string>();
  const podSubnets = new NodeSubnets(p, net);
  return specs.map((n, i) => {
    const f = `nodes[${i}]`;
    if (names.has(n.name)) p.add(`${f}.name`, `duplicate node "${n.name}"`);
    names.add(n.name);
    const nodeId = n.nodeId ?? i + 2;
    const otherId = ids.get(nodeId);
    if (otherId !== undefined) p.add(`${f}.nodeId`, `node id ${nodeId} is also used by node "${otherId}"`);
    ids.set(nodeId, n.name);
    const ip = nodeIp(p, `${f}.ip`, n, i, net);
    const otherIp = ips.get(ip);
    if (otherIp !== undefined) p.add(`${f}.ip`, `duplicate IP ${ip} (also node "${otherIp}")`);
    ips.set(ip, n.name);
    const subnets = byFamily(net.families, (fam) =>
      podSubnets.of(`${f}.subnets.${famKey(fam)}`, n.subnets?.[famKey(fam)], fam, i),
    );
    return labNode(n, nodeId, ip, subnets, net);
  });
}

/** A node's underlay address: the given one, else the (index + 2)-th of the underlay; IPv4, inside it. */
function nodeIp(p: Problems, field: string, n: NodeSpec, index: number, net: Networks): string {
  const ip = n.ip ?? (net.underlay ? formatIp(nthIp(net.underlay, index + 2)) : "172.18.0.2");
  const parsed = parseIp(ip);
  if (parsed?.family !== 4) p.add(field, `"${ip}" is not an IPv4 address`);
  else if (net.underlay && !contains(net.underlay, parsed))
    p.add(field, `${ip} is outside the underlay ${formatCidr(net.underlay)}`);
  return ip;
}

/** The nodes' pod subnets: each inside the cluster network, none overlapping another. */
class NodeSubnets {
  /** Handed out so far, each with its field (for the overlap message). */
  private readonly taken: { readonly cidr: Cidr; readonly field: string }[] = [];

  constructor(
    private readonly p: Problems,
    private readonly net: Networks,
  ) {}

  /** A node's subnet of one family: the given one, else the node's (index-th) share of the cluster network. */
  of(field: string, given: string | undefined, fam: Family, index: number): Cidr | undefined {
    const clusterNet = this.net.cluster[fam];
    const c =
      given === undefined
        ? clusterNet && nthSubnet(clusterNet, NODE_SUBNET_PREFIX[fam], index)
        : parseFamilyCidr(this.p, field, given, fam);
    if (c === undefined) return undefined;
    if (clusterNet && !contains(clusterNet, { family: fam, value: c.base }))
      this.p.add(field, `${formatCidr(c)} is outside the cluster network ${formatCidr(clusterNet)}`);
    for (const o of this.taken) if (overlaps(o.cidr, c)) this.p.add(field, `overlaps ${o.field}`);
    this.taken.push({ cidr: c, field });
    return c;
  }
}

/** The node with the addresses ovn-kubernetes derives from its subnets and its node id. */
function labNode(n: NodeSpec, nodeId: number, ip: string, subnets: ByFamily<Cidr>, net: Networks): LabNode {
  const fams = net.families;
  const gw = byFamily(fams, (fam) => subnets[fam] && nthIp(must(subnets[fam]), 1));
  const mgmt = byFamily(fams, (fam) => subnets[fam] && nthIp(must(subnets[fam]), 2));
  const join = byFamily(fams, (fam) => nthIp(must(parseCidr(JOIN_NETWORK[fam])), nodeId));
  const transit = byFamily(fams, (fam) => nthIp(must(parseCidr(TRANSIT_NETWORK[fam])), nodeId));
  const first = <T>(m: ByFamily<T>): T => must(m[4] ?? m[6]);
  const text = (m: ByFamily<Ip>): ByFamily<string> =>
    byFamily(fams, (fam) => m[fam] && formatIp(must(m[fam])));
  return {
    name: n.name,
    nodeId,
    chassisId: stableUuid(`chassis:${n.name}`),
    zone: net.shape === "interconnect" ? n.name : "global",
    ip,
    ...(n.ipv6 === undefined ? {} : { ipv6: n.ipv6 }),
    mac: dockerMac(ip),
    subnets: byFamily(fams, (fam) => subnets[fam] && formatCidr(must(subnets[fam]))),
    gatewayCidrs: byFamily(
      fams,
      (fam) => gw[fam] && `${formatIp(must(gw[fam]))}/${must(subnets[fam]).prefix}`,
    ),
    gatewayMac: macFromIp(first(gw)),
    mgmtIps: text(mgmt),
    mgmtMac: macFromIp(first(mgmt)),
    joinIps: text(join),
    joinMac: macFromIp(first(join)),
    transitIps: text(transit),
    transitMac: macFromIp(first(transit)),
  };
}

/** Declared namespaces, then every namespace something lives in; a UDN's namespaces get its label. */
function resolveNamespaces(s: Scenario, udns: readonly LabUserDefinedNetwork[]): NamespaceSpec[] {
  const namespaces = new Map<string, NamespaceSpec>();
  for (const ns of s.namespaces ?? []) namespaces.set(ns.name, ns);
  for (const { namespace } of [
    ...(s.pods ?? []),
    ...(s.services ?? []),
    ...(s.networkPolicies ?? []),
    ...(s.egressFirewalls ?? []),
  ])
    if (!namespaces.has(namespace)) namespaces.set(namespace, { name: namespace });
  for (const u of udns) {
    for (const ns of u.namespaces) {
      const spec = namespaces.get(ns);
      namespaces.set(ns, {
        name: ns,
        labels: { ...(spec?.labels ?? {}), [PRIMARY_UDN_NAMESPACE_LABEL]: "" },
      });
    }
  }
  return [...namespaces.values()];
}

/** The objects of one kind seen so far, by `<namespace>/<name>`: a name is unique in its namespace. */
class NamespacedNames {
  private readonly seen = new Set<string>();

  constructor(
    private readonly p: Problems,
    private readonly kind: string,
  ) {}

  /** The object's `<namespace>/<name>`; one seen already is a problem of `field`. */
  key(field: string, o: { readonly namespace: string; readonly name: string }): string {
    const key = `${o.namespace}/${o.name}`;
    if (this.seen.has(key)) this.p.add(field, `duplicate ${this.kind} ${key}`);
    this.seen.add(key);
    return key;
  }
}

/** An IP of a list field (a pod's ips, a service's clusterIPs), with the field naming it. */
interface ListedIp {
  readonly field: string;
  readonly ip: Ip;
  /** As formatIp prints it. */
  readonly canon: string;
}

/** The IPs of a list field that parse, in order; each one that does not is a problem. */
function* listedIps(p: Problems, listField: string, texts: readonly string[]): Generator<ListedIp> {
  for (const [j, text] of texts.entries()) {
    const field = `${listField}[${j}]`;
    const ip = parseIp(text);
    if (ip === undefined) p.add(field, `"${text}" is not an IP address`);
    else yield { field, ip, canon: formatIp(ip) };
  }
}

/** Records `owner` as the holder of `ip`; an IP someone else holds already is a problem. */
function claimIp(p: Problems, { field, canon }: ListedIp, owners: IpOwners, owner: string): void {
  const other = owners.get(canon);
  if (other !== undefined) p.add(field, `duplicate IP ${canon} (also ${other})`);
  owners.set(canon, owner);
}

function resolvePods(
  p: Problems,
  specs: readonly PodSpec[],
  nodes: readonly LabNode[],
  ipOwners: IpOwners,
): LabPod[] {
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));
  const names = new NamespacedNames(p, "pod");
  return specs.map((pod, i) => {
    const f = `pods[${i}]`;
    const key = names.key(`${f}.name`, pod);
    const node = nodeByName.get(pod.node);
    if (node === undefined)
      p.add(`${f}.node`, `unknown node "${pod.node}" (nodes: ${[...nodeByName.keys()].join(", ")})`);
    const hostNetwork = pod.hostNetwork ?? false;
    const ips = hostNetwork
      ? hostNetworkPodIps(p, f, pod, node)
      : podIps(p, f, pod, node, (ip) => {
          claimIp(p, ip, ipOwners, `pod ${key}`);
        });
    return labPod(pod, key, hostNetwork, ips);
  });
}

/** A hostNetwork pod has its node's IPs and lists none. */
function hostNetworkPodIps(
  p: Problems,
  f: string,
  pod: PodSpec,
  node: LabNode | undefined,
): ByFamily<string> {
  if ((pod.ips ?? []).length > 0) p.add(`${f}.ips`, "a hostNetwork pod has the node's IPs; list none");
  if (node === undefined) return {};
  return { 4: node.ip, ...(node.ipv6 === undefined ? {} : { 6: node.ipv6 }) };
}

/** A pod's listed IPs: at least one, at most one per family, each a pod address of its node's subnet. */
function podIps(
  p: Problems,
  f: string,
  pod: PodSpec,
  node: LabNode | undefined,
  claim: (ip: ListedIp) => void,
): ByFamily<string> {
  if ((pod.ips ?? []).length === 0) p.add(`${f}.ips`, "a pod needs at least one IP");
  const ips: ByFamily<string> = {};
  for (const listed of listedIps(p, `${f}.ips`, pod.ips ?? [])) {
    const { field, ip, canon } = listed;
    if (ips[ip.family] !== undefined) p.add(field, `a second IPv${ip.family} address`);
    ips[ip.family] = canon;
    claim(listed);
    if (node !== undefined) checkInNodeSubnet(p, listed, node);
  }
  return ips;
}

/** Inside the node's subnet, past its first addresses: the network, the gateway and the management port. */
function checkInNodeSubnet(p: Problems, { field, ip, canon }: ListedIp, node: LabNode): void {
  const sub = node.subnets[ip.family];
  const subnet = sub === undefined ? undefined : parseCidr(sub);
  if (subnet === undefined) p.add(field, `node ${node.name} has no IPv${ip.family} subnet`);
  else if (!contains(subnet, ip)) p.add(field, `${canon} is outside node ${node.name}'s subnet ${sub}`);
  else if (ip.value - subnet.base <= 2n)
    p.add(field, `${canon} is reserved (network, gateway or management port)`);
}

function labPod(pod: PodSpec, key: string, hostNetwork: boolean, ips: ByFamily<string>): LabPod {
  const firstIp = parseIp(ips[4] ?? ips[6] ?? "0.0.0.0");
  const uid = stableUuid(`pod:${key}`);
  return {
    namespace: pod.namespace,
    name: pod.name,
    uid,
    node: pod.node,
    hostNetwork,
    ips,
    mac: firstIp ? macFromIp(firstIp) : "",
    lsp: `${pod.namespace}_${pod.name}`,
    // The CNI names the host side of a pod's veth after its sandbox (container) id.
    iface: createHash("sha256").update(uid).digest("hex").slice(0, 15),
    labels: pod.labels ?? {},
    containerPorts: (pod.ports ?? []).map((cp) => ({ ...cp, protocol: cp.protocol ?? "TCP" })),
  };
}

function resolveServices(
  p: Problems,
  specs: readonly ServiceSpec[],
  net: Networks,
  pods: readonly LabPod[],
  ipOwners: IpOwners,
): LabService[] {
  const names = new NamespacedNames(p, "service");
  return specs.map((svc, i) => {
    const f = `services[${i}]`;
    const key = names.key(`${f}.name`, svc);
    const type = svc.type ?? "ClusterIP";
    const clusterIPs = serviceClusterIps(p, f, svc, net, (ip) => {
      claimIp(p, ip, ipOwners, `service ${key}`);
    });
    const ports = svc.ports.map((sp, j) => servicePort(p, `${f}.ports[${j}]`, sp, j, svc, type));
    const selector = svc.selector;
    if (svc.externalTrafficPolicy !== undefined && type !== "NodePort")
      p.add(`${f}.externalTrafficPolicy`, "only a NodePort service has an external traffic policy");
    return {
      namespace: svc.namespace,
      name: svc.name,
      uid: stableUuid(`service:${key}`),
      type,
      clusterIPs,
      ports,
      ...(selector === undefined ? {} : { selector }),
      endpoints: selector === undefined ? [] : endpointsOf(svc.namespace, selector, pods),
      externalTrafficPolicy: svc.externalTrafficPolicy ?? "Cluster",
      internalTrafficPolicy: svc.internalTrafficPolicy ?? "Cluster",
    };
  });
}

/** At most one per family, of a family the cluster has, outside the pod network. */
function serviceClusterIps(
  p: Problems,
  f: string,
  svc: ServiceSpec,
  net: Networks,
  claim: (ip: ListedIp) => void,
): ByFamily<string> {
  const clusterIPs: ByFamily<string> = {};
  for (const listed of listedIps(p, `${f}.clusterIPs`, svc.clusterIPs)) {
    const { field, ip, canon } = listed;
    if (clusterIPs[ip.family] !== undefined) p.add(field, `a second IPv${ip.family} cluster IP`);
    if (!net.families.includes(ip.family)) p.add(field, `the cluster has no IPv${ip.family} network`);
    clusterIPs[ip.family] = canon;
    claim(listed);
    for (const [fam, cidr] of Object.entries(net.cluster)) {
      if (contains(cidr, ip)) p.add(field, `${canon} is inside the IPv${fam} pod network`);
    }
  }
  return clusterIPs;
}

function servicePort(
  p: Problems,
  field: string,
  sp: ServicePort,
  j: number,
  svc: ServiceSpec,
  type: LabService["type"],
): LabServicePort {
  if (sp.nodePort !== undefined && type !== "NodePort")
    p.add(`${field}.nodePort`, `only a NodePort service has node ports`);
  if (type === "NodePort" && sp.nodePort === undefined)
    p.add(`${field}.nodePort`, `a NodePort service needs a nodePort`);
  return {
    name: sp.name ?? (svc.ports.length === 1 ? "" : `port-${j}`),
    protocol: sp.protocol ?? "TCP",
    port: sp.port,
    targetPort: sp.targetPort ?? sp.port,
    ...(sp.nodePort === undefined ? {} : { nodePort: sp.nodePort }),
  };
}

/** The pods of the service's namespace that its selector matches (not hostNetwork ones), in scenario order. */
function endpointsOf(
  namespace: string,
  selector: Readonly<Record<string, string>>,
  pods: readonly LabPod[],
): LabPod[] {
  return pods.filter(
    (pod) =>
      pod.namespace === namespace &&
      !pod.hostNetwork &&
      Object.entries(selector).every(([k, v]) => pod.labels[k] === v),
  );
}

/**
 * In local gateway mode a NodePort is the host's (ovnkube-node's iptables and breth0 flows hand it to the host
 * network stack), which the lab does not model: refused rather than built as in shared mode.
 */
function checkNoNodePorts(p: Problems, services: readonly LabService[]): void {
  for (const [i, svc] of services.entries())
    if (svc.type === "NodePort")
      p.add(
        `services[${i}].type`,
        "NodePort is not modelled in local gateway mode (the host's iptables are not part of the lab)",
      );
}

/** Names unique; every ipBlock a CIDR, each of its exceptions a CIDR inside it. */
function checkNetworkPolicies(p: Problems, policies: readonly NetworkPolicySpec[]): void {
  const names = new NamespacedNames(p, "network policy");
  for (const [i, np] of policies.entries()) {
    names.key(`networkPolicies[${i}].name`, np);
    for (const [dir, rules] of [
      ["ingress", np.ingress ?? []],
      ["egress", np.egress ?? []],
    ] as const) {
      for (const [j, rule] of rules.entries()) {
        const peers = "from" in rule ? rule.from : "to" in rule ? rule.to : undefined;
        for (const [k, peer] of (peers ?? []).entries()) {
          const field = `networkPolicies[${i}].${dir}[${j}].${dir === "ingress" ? "from" : "to"}[${k}].ipBlock`;
          if (peer.ipBlock !== undefined) checkIpBlock(p, field, peer.ipBlock);
        }
      }
    }
  }
}

function checkIpBlock(p: Problems, field: string, block: IPBlock): void {
  const c = parseCidr(block.cidr);
  if (c === undefined) p.add(`${field}.cidr`, `"${block.cidr}" is not a CIDR`);
  for (const [m, e] of (block.except ?? []).entries()) {
    const ec = parseCidr(e);
    if (ec === undefined || (c && !overlaps(c, ec)))
      p.add(`${field}.except[${m}]`, `"${e}" is not a CIDR inside ${block.cidr}`);
  }
}

/** Names, ids and management links unique; a namespace has at most one primary network. */
function resolveUserDefinedNetworks(
  p: Problems,
  specs: readonly UserDefinedNetworkSpec[],
  nodes: readonly string[],
): LabUserDefinedNetwork[] {
  const names = new Set<string>();
  const ids = new Map<number, string>();
  const links = new Map<string, string>();
  const primaryOf = new Map<string, string>();
  return specs.map((u, i) => {
    const f = `userDefinedNetworks[${i}]`;
    if (u.name === "default") p.add(`${f}.name`, `"default" is the cluster default network`);
    if (names.has(u.name)) p.add(`${f}.name`, `duplicate network "${u.name}"`);
    names.add(u.name);
    const otherId = ids.get(u.id);
    if (otherId !== undefined) p.add(`${f}.id`, `network id ${u.id} is also used by network "${otherId}"`);
    ids.set(u.id, u.name);
    const link = mgmtLinkName(u.id);
    const otherLink = links.get(link);
    if (otherLink !== undefined && otherId === undefined)
      p.add(`${f}.id`, `management link ${link} (15 characters at most) is also network "${otherLink}"'s`);
    links.set(link, u.name);
    for (const [j, ns] of (u.namespaces ?? []).entries()) {
      const other = primaryOf.get(ns);
      if (other !== undefined && other !== u.name)
        p.add(`${f}.namespaces[${j}]`, `namespace ${ns} already has primary network "${other}"`);
      primaryOf.set(ns, u.name);
    }
    const namespaces = [...new Set(u.namespaces ?? [])];
    if (u.topology === undefined) return { name: u.name, id: u.id, namespaces };
    for (const [j, ns] of namespaces.entries())
      if (nadOf(u.name, ns) === undefined)
        p.add(
          `${f}.namespaces[${j}]`,
          `a UserDefinedNetwork "<namespace>_<name>" is primary in its own namespace only (or name it cluster_udn_<name>)`,
        );
    const topology = udnTopology(u.topology, `${f}.topology`, nodes, (field, m) => {
      p.add(field, m);
    });
    return { name: u.name, id: u.id, namespaces, topology };
  });
}

/** Pods of a namespace whose primary network has a topology get their interface on it, numbered per share. */
function attachPrimaryNetworks(
  p: Problems,
  pods: readonly LabPod[],
  udns: readonly LabUserDefinedNetwork[],
): LabPod[] {
  const onNode = new Map<string, number>();
  return pods.map((pod, i) => {
    const udn = udns.find((u) => u.topology !== undefined && u.namespaces.includes(pod.namespace));
    if (udn?.topology === undefined || pod.hostNetwork) return pod;
    const key = udn.topology.kind === "layer2" ? udn.name : `${udn.name}/${pod.node}`;
    const index = onNode.get(key) ?? 0;
    onNode.set(key, index + 1);
    const primaryNetwork = podNetwork(udn.name, udn.topology, pod, index);
    if (primaryNetwork === undefined)
      p.add(`pods[${i}]`, `no address left for it on network "${udn.name}" on node ${pod.node}`);
    return primaryNetwork === undefined ? pod : { ...pod, primaryNetwork };
  });
}
