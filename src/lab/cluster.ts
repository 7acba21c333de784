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
  NamespaceSpec,
  NetworkPolicySpec,
  Protocol,
  Scenario,
  ServicePort,
  UserDefinedNetworkSpec,
} from "./scenario.js";
import { mgmtLinkName } from "../cluster/mgmt-link.js";

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
}

export interface LabUserDefinedNetwork {
  readonly name: string;
  readonly id: number;
  readonly namespaces: readonly string[];
}

/** Label ovn-kubernetes requires on a namespace whose pods get a primary user-defined network. */
export const PRIMARY_UDN_NAMESPACE_LABEL = "k8s.ovn.org/primary-user-defined-network";

export interface LabCluster {
  readonly name: string;
  readonly shape: ClusterShape;
  readonly families: readonly Family[];
  readonly clusterNetwork: ByFamily<string>;
  readonly underlay: { readonly cidr: string; readonly gateway: string; readonly gatewayV6?: string };
  readonly nodes: readonly LabNode[];
  readonly namespaces: readonly NamespaceSpec[];
  readonly pods: readonly LabPod[];
  readonly services: readonly LabService[];
  readonly networkPolicies: readonly NetworkPolicySpec[];
  readonly userDefinedNetworks: readonly LabUserDefinedNetwork[];
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

/**
 * Checks a (schema-valid) scenario for what a schema cannot see — unknown node, duplicate IP,
 * pod outside its node's subnet — and derives every address the lab and the Kubernetes objects need.
 */
export function resolveScenario(s: Scenario, shapeOverride?: ClusterShape): LabCluster {
  const p = new Problems();
  const shape = shapeOverride ?? s.shape ?? "central";
  const pods = s.pods ?? [];

  // Families: those with an explicit cluster network, or used by a node subnet or a pod IP.
  const used = new Set<Family>([4]);
  if (s.clusterNetwork !== undefined) {
    used.clear();
    if (s.clusterNetwork.ipv4 !== undefined) used.add(4);
    if (s.clusterNetwork.ipv6 !== undefined) used.add(6);
  }
  for (const n of s.nodes) if (n.subnets?.ipv6 !== undefined) used.add(6);
  for (const pod of pods) for (const ip of pod.ips ?? []) if (parseIp(ip)?.family === 6) used.add(6);
  const families = ([4, 6] as const).filter((f) => used.has(f));

  const clusterNet = byFamily(families, (f) =>
    parseFamilyCidr(
      p,
      `clusterNetwork.${famKey(f)}`,
      s.clusterNetwork?.[famKey(f)] ?? DEFAULT_CLUSTER_NETWORK[f],
      f,
    ),
  );
  const underlay = parseFamilyCidr(p, "underlay.cidr", s.underlay?.cidr ?? "172.18.0.0/16", 4);
  const underlayGw = s.underlay?.gateway ?? (underlay ? formatIp(nthIp(underlay, 1)) : "172.18.0.1");

  // Nodes
  const nodeNames = new Set<string>();
  const nodeIps = new Map<string, string>();
  const nodeIds = new Map<number, string>();
  const subnets: { cidr: Cidr; field: string }[] = [];
  const nodes: LabNode[] = s.nodes.map((n, i) => {
    const f = `nodes[${i}]`;
    if (nodeNames.has(n.name)) p.add(`${f}.name`, `duplicate node "${n.name}"`);
    nodeNames.add(n.name);
    const nodeId = n.nodeId ?? i + 2;
    const otherId = nodeIds.get(nodeId);
    if (otherId !== undefined) p.add(`${f}.nodeId`, `node id ${nodeId} is also used by node "${otherId}"`);
    nodeIds.set(nodeId, n.name);
    const ip = n.ip ?? (underlay ? formatIp(nthIp(underlay, i + 2)) : "172.18.0.2");
    const ipParsed = parseIp(ip);
    if (ipParsed?.family !== 4) p.add(`${f}.ip`, `"${ip}" is not an IPv4 address`);
    else if (underlay && !contains(underlay, ipParsed))
      p.add(`${f}.ip`, `${ip} is outside the underlay ${formatCidr(underlay)}`);
    const otherIp = nodeIps.get(ip);
    if (otherIp !== undefined) p.add(`${f}.ip`, `duplicate IP ${ip} (also node "${otherIp}")`);
    nodeIps.set(ip, n.name);
    const nodeSubnets = byFamily(families, (fam) => {
      const net = clusterNet[fam];
      const given = n.subnets?.[famKey(fam)];
      const field = `${f}.subnets.${famKey(fam)}`;
      const c =
        given === undefined
          ? net && nthSubnet(net, NODE_SUBNET_PREFIX[fam], i)
          : parseFamilyCidr(p, field, given, fam);
      if (c === undefined) return undefined;
      if (net && !contains(net, { family: fam, value: c.base }))
        p.add(field, `${formatCidr(c)} is outside the cluster network ${formatCidr(net)}`);
      for (const o of subnets) if (overlaps(o.cidr, c)) p.add(field, `overlaps ${o.field}`);
      subnets.push({ cidr: c, field });
      return c;
    });
    const gw = byFamily(families, (fam) => nodeSubnets[fam] && nthIp(must(nodeSubnets[fam]), 1));
    const mgmt = byFamily(families, (fam) => nodeSubnets[fam] && nthIp(must(nodeSubnets[fam]), 2));
    const join = byFamily(families, (fam) => nthIp(must(parseCidr(JOIN_NETWORK[fam])), nodeId));
    const transit = byFamily(families, (fam) => nthIp(must(parseCidr(TRANSIT_NETWORK[fam])), nodeId));
    const first = <T>(m: ByFamily<T>): T => must(m[4] ?? m[6]);
    const withLen = (m: ByFamily<Ip>, len: (fam: Family) => number): ByFamily<string> =>
      byFamily(families, (fam) => m[fam] && `${formatIp(must(m[fam]))}/${len(fam)}`);
    const text = (m: ByFamily<Ip>): ByFamily<string> =>
      byFamily(families, (fam) => m[fam] && formatIp(must(m[fam])));
    return {
      name: n.name,
      nodeId,
      chassisId: stableUuid(`chassis:${n.name}`),
      zone: shape === "interconnect" ? n.name : "global",
      ip,
      ...(n.ipv6 === undefined ? {} : { ipv6: n.ipv6 }),
      mac: dockerMac(ip),
      subnets: byFamily(families, (fam) => nodeSubnets[fam] && formatCidr(must(nodeSubnets[fam]))),
      gatewayCidrs: withLen(gw, (fam) => must(nodeSubnets[fam]).prefix),
      gatewayMac: macFromIp(first(gw)),
      mgmtIps: text(mgmt),
      mgmtMac: macFromIp(first(mgmt)),
      joinIps: text(join),
      joinMac: macFromIp(first(join)),
      transitIps: text(transit),
      transitMac: macFromIp(first(transit)),
    };
  });
  const nodeByName = new Map(nodes.map((n) => [n.name, n]));

  // Namespaces: declared ones, plus every namespace something lives in.
  const namespaces = new Map<string, NamespaceSpec>();
  for (const ns of s.namespaces ?? []) namespaces.set(ns.name, ns);
  const ensureNs = (name: string): void => {
    if (!namespaces.has(name)) namespaces.set(name, { name });
  };

  // Pods
  const allIps = new Map<string, string>();
  for (const n of nodes) allIps.set(n.ip, `node ${n.name}`);
  const podKeys = new Set<string>();
  const labPods: LabPod[] = pods.map((pod, i) => {
    const f = `pods[${i}]`;
    ensureNs(pod.namespace);
    const key = `${pod.namespace}/${pod.name}`;
    if (podKeys.has(key)) p.add(`${f}.name`, `duplicate pod ${key}`);
    podKeys.add(key);
    const node = nodeByName.get(pod.node);
    if (node === undefined)
      p.add(`${f}.node`, `unknown node "${pod.node}" (nodes: ${[...nodeNames].join(", ")})`);
    const hostNetwork = pod.hostNetwork ?? false;
    const ips: ByFamily<string> = {};
    if (hostNetwork) {
      if ((pod.ips ?? []).length > 0) p.add(`${f}.ips`, "a hostNetwork pod has the node's IPs; list none");
      if (node) {
        ips[4] = node.ip;
        if (node.ipv6 !== undefined) ips[6] = node.ipv6;
      }
    } else {
      if ((pod.ips ?? []).length === 0) p.add(`${f}.ips`, "a pod needs at least one IP");
      for (const [j, text] of (pod.ips ?? []).entries()) {
        const field = `${f}.ips[${j}]`;
        const ip = parseIp(text);
        if (ip === undefined) {
          p.add(field, `"${text}" is not an IP address`);
          continue;
        }
        const canon = formatIp(ip);
        if (ips[ip.family] !== undefined) p.add(field, `a second IPv${ip.family} address`);
        ips[ip.family] = canon;
        const other = allIps.get(canon);
        if (other !== undefined) p.add(field, `duplicate IP ${canon} (also ${other})`);
        allIps.set(canon, `pod ${key}`);
        if (node === undefined) continue;
        const sub = node.subnets[ip.family];
        const subnet = sub === undefined ? undefined : parseCidr(sub);
        if (subnet === undefined) p.add(field, `node ${node.name} has no IPv${ip.family} subnet`);
        else if (!contains(subnet, ip)) p.add(field, `${canon} is outside node ${node.name}'s subnet ${sub}`);
        else if (ip.value - subnet.base <= 2n)
          p.add(field, `${canon} is reserved (network, gateway or management port)`);
      }
    }
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
  });

  // Services
  const svcKeys = new Set<string>();
  const services: LabService[] = (s.services ?? []).map((svc, i) => {
    const f = `services[${i}]`;
    ensureNs(svc.namespace);
    const key = `${svc.namespace}/${svc.name}`;
    if (svcKeys.has(key)) p.add(`${f}.name`, `duplicate service ${key}`);
    svcKeys.add(key);
    const type = svc.type ?? "ClusterIP";
    const clusterIPs: ByFamily<string> = {};
    for (const [j, text] of svc.clusterIPs.entries()) {
      const field = `${f}.clusterIPs[${j}]`;
      const ip = parseIp(text);
      if (ip === undefined) {
        p.add(field, `"${text}" is not an IP address`);
        continue;
      }
      const canon = formatIp(ip);
      if (clusterIPs[ip.family] !== undefined) p.add(field, `a second IPv${ip.family} cluster IP`);
      if (!families.includes(ip.family)) p.add(field, `the cluster has no IPv${ip.family} network`);
      clusterIPs[ip.family] = canon;
      const other = allIps.get(canon);
      if (other !== undefined) p.add(field, `duplicate IP ${canon} (also ${other})`);
      allIps.set(canon, `service ${key}`);
      for (const [fam, net] of Object.entries(clusterNet)) {
        if (contains(net, ip)) p.add(field, `${canon} is inside the IPv${fam} pod network`);
      }
    }
    const ports = svc.ports.map((sp: ServicePort, j): LabServicePort => {
      if (sp.nodePort !== undefined && type !== "NodePort")
        p.add(`${f}.ports[${j}].nodePort`, `only a NodePort service has node ports`);
      if (type === "NodePort" && sp.nodePort === undefined)
        p.add(`${f}.ports[${j}].nodePort`, `a NodePort service needs a nodePort`);
      return {
        name: sp.name ?? (svc.ports.length === 1 ? "" : `port-${j}`),
        protocol: sp.protocol ?? "TCP",
        port: sp.port,
        targetPort: sp.targetPort ?? sp.port,
        ...(sp.nodePort === undefined ? {} : { nodePort: sp.nodePort }),
      };
    });
    const selector = svc.selector;
    const endpoints =
      selector === undefined
        ? []
        : labPods.filter(
            (pod) =>
              pod.namespace === svc.namespace &&
              !pod.hostNetwork &&
              Object.entries(selector).every(([k, v]) => pod.labels[k] === v),
          );
    return {
      namespace: svc.namespace,
      name: svc.name,
      uid: stableUuid(`service:${key}`),
      type,
      clusterIPs,
      ports,
      ...(selector === undefined ? {} : { selector }),
      endpoints,
    };
  });

  // Network policies
  const npKeys = new Set<string>();
  for (const [i, np] of (s.networkPolicies ?? []).entries()) {
    ensureNs(np.namespace);
    const key = `${np.namespace}/${np.name}`;
    if (npKeys.has(key)) p.add(`networkPolicies[${i}].name`, `duplicate network policy ${key}`);
    npKeys.add(key);
    for (const [dir, rules] of [
      ["ingress", np.ingress ?? []],
      ["egress", np.egress ?? []],
    ] as const) {
      for (const [j, rule] of rules.entries()) {
        const peers = "from" in rule ? rule.from : "to" in rule ? rule.to : undefined;
        for (const [k, peer] of (peers ?? []).entries()) {
          const field = `networkPolicies[${i}].${dir}[${j}].${dir === "ingress" ? "from" : "to"}[${k}].ipBlock`;
          if (peer.ipBlock === undefined) continue;
          const c = parseCidr(peer.ipBlock.cidr);
          if (c === undefined) p.add(`${field}.cidr`, `"${peer.ipBlock.cidr}" is not a CIDR`);
          for (const [m, e] of (peer.ipBlock.except ?? []).entries()) {
            const ec = parseCidr(e);
            if (ec === undefined || (c && !overlaps(c, ec)))
              p.add(`${field}.except[${m}]`, `"${e}" is not a CIDR inside ${peer.ipBlock.cidr}`);
          }
        }
      }
    }
  }

  const userDefinedNetworks = resolveUserDefinedNetworks(p, s.userDefinedNetworks ?? []);
  for (const u of userDefinedNetworks) {
    for (const ns of u.namespaces) {
      const spec = namespaces.get(ns);
      namespaces.set(ns, {
        name: ns,
        labels: { ...(spec?.labels ?? {}), [PRIMARY_UDN_NAMESPACE_LABEL]: "" },
      });
    }
  }

  p.throwIfAny(`scenario "${s.name}"`);
  return {
    name: s.name,
    shape,
    families,
    clusterNetwork: byFamily(families, (f) => clusterNet[f] && formatCidr(must(clusterNet[f]))),
    underlay: {
      cidr: underlay ? formatCidr(underlay) : "172.18.0.0/16",
      gateway: underlayGw,
      ...(s.underlay?.gatewayV6 === undefined ? {} : { gatewayV6: s.underlay.gatewayV6 }),
    },
    nodes,
    namespaces: [...namespaces.values()],
    pods: labPods,
    services,
    networkPolicies: s.networkPolicies ?? [],
    userDefinedNetworks,
  };
}

/** Names, ids and management links unique; a namespace has at most one primary network. */
function resolveUserDefinedNetworks(
  p: Problems,
  specs: readonly UserDefinedNetworkSpec[],
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
    return { name: u.name, id: u.id, namespaces: [...new Set(u.namespaces ?? [])] };
  });
}
