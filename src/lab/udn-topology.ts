import { createHash } from "node:crypto";
import {
  contains,
  formatCidr,
  formatIp,
  macFromIp,
  nthIp,
  nthSubnet,
  parseCidr,
  parseIp,
  type Cidr,
  type Family,
} from "../net/ip.js";
import { nadOf, networkPrefix } from "../udn-names.js";
import type { Layer2TopologySpec, Layer3TopologySpec, UserDefinedNetworkTopology } from "./scenario.js";

/**
 * The addresses and names ovn-kubernetes derives for a primary user-defined network's layer3 topology
 * (go-controller/pkg/util/multi_network.go, pkg/ovn/base_network_controller.go): each node gets a subnet of the
 * network, its router port `rtos-<prefix><node>` the first address, the management port the second, and its pods
 * the next ones; every name is scoped by the network's prefix.
 */

type ByFamily<T> = Partial<Record<Family, T>>;

/** A node's share of a layer3 network. */
export interface LabUdnNode {
  readonly node: string;
  readonly subnets: ByFamily<string>;
  /** The switch's router port `rtos-<prefix><node>` (the pods' gateway), with prefix length. */
  readonly gatewayCidrs: ByFamily<string>;
  readonly gatewayMac: string;
  /** The network's management port `k8s-<prefix><node>`. */
  readonly mgmtIps: ByFamily<string>;
  readonly mgmtMac: string;
}

export interface LabLayer3Topology {
  readonly kind: "layer3";
  readonly subnets: ByFamily<string>;
  readonly nodes: readonly LabUdnNode[];
}

/** One switch `<prefix>ovn_layer2_switch` for the whole network: every pod is on-link with every other. */
export interface LabLayer2Topology {
  readonly kind: "layer2";
  readonly subnets: ByFamily<string>;
  /** The pods' gateway (the first address; the gateway routers that hold it are not built). */
  readonly gatewayIps: ByFamily<string>;
}

export type LabUdnTopology = LabLayer3Topology | LabLayer2Topology;

/** A pod's interface on its namespace's primary user-defined network (`ovn-udn1` in the pod). */
export interface LabPodNetwork {
  /** The network name (`k8s.ovn.org/network`). */
  readonly network: string;
  /** The NetworkAttachmentDefinition `<namespace>/<name>`: the key of its k8s.ovn.org/pod-networks entry. */
  readonly nad: string;
  /** Logical switch port and OVS iface-id: `<nad prefix><namespace>_<pod>`. */
  readonly lsp: string;
  /** Host side OVS port name, 15 hex characters like the pod's default one. */
  readonly iface: string;
  readonly ips: ByFamily<string>;
  readonly mac: string;
  /** Layer2: the port's tunnel key on the network's switch (pod annotation tunnel_id; cluster-manager's, from 1). */
  readonly tunnelId?: number;
}

/** The names of a layer3 network's objects, as ovnkube-controller's GetNetworkScoped* functions make them. */
export const layer3Names = (network: string) => {
  const p = networkPrefix(network);
  return {
    clusterRouter: `${p}ovn_cluster_router`,
    transitSwitch: `${p}transit_switch`,
    nodeSwitch: (node: string) => `${p}${node}`,
    routerToSwitch: (node: string) => `rtos-${p}${node}`,
    switchToRouter: (node: string) => `stor-${p}${node}`,
    mgmtPort: (node: string) => `k8s-${p}${node}`,
    routerToTransit: (node: string) => `${p}rtots-${node}`,
    transitToRouter: (node: string) => `${p}tstor-${node}`,
  };
};

/** The layer2 network's switch (GetNetworkScopedSwitchName of a layer2 network). */
export const layer2SwitchName = (network: string): string => `${networkPrefix(network)}ovn_layer2_switch`;

const HOST_SUBNET_V6 = 64;

type Problem = (field: string, message: string) => void;

/** A network's topology as the lab builds it; `problem` collects what is wrong with the spec. */
export function udnTopology(
  spec: UserDefinedNetworkTopology,
  field: string,
  nodes: readonly string[],
  problem: Problem,
): LabUdnTopology {
  return spec.kind === "layer3"
    ? layer3Topology(spec, field, nodes, problem)
    : layer2Topology(spec, field, problem);
}

/** The network's CIDRs by family: one each, at least one. */
function networkCidrs(subnets: readonly string[], field: string, problem: Problem): ByFamily<Cidr> {
  const cidrs: ByFamily<Cidr> = {};
  for (const [i, text] of subnets.entries()) {
    const c = parseCidr(text);
    if (c === undefined) problem(`${field}.subnets[${i}]`, `"${text}" is not a CIDR`);
    else if (cidrs[c.family] !== undefined)
      problem(`${field}.subnets[${i}]`, `a second IPv${c.family} subnet`);
    else cidrs[c.family] = c;
  }
  if (subnets.length === 0) problem(`${field}.subnets`, "a network needs a subnet");
  return cidrs;
}

function layer2Topology(spec: Layer2TopologySpec, field: string, problem: Problem): LabLayer2Topology {
  const cidrs = networkCidrs(spec.subnets, field, problem);
  if ("hostSubnet" in spec) problem(`${field}.hostSubnet`, "a layer2 network has no per-node subnets");
  const subnets: ByFamily<string> = {};
  const gatewayIps: ByFamily<string> = {};
  for (const f of [4, 6] as const) {
    const c = cidrs[f];
    if (c === undefined) continue;
    subnets[f] = formatCidr(c);
    gatewayIps[f] = formatIp(nthIp(c, 1));
  }
  return { kind: "layer2", subnets, gatewayIps };
}

/** A layer3 network's subnets and each node's share of them. */
function layer3Topology(
  spec: Layer3TopologySpec,
  field: string,
  nodes: readonly string[],
  problem: Problem,
): LabLayer3Topology {
  const cidrs = networkCidrs(spec.subnets, field, problem);
  const hostLen: Record<Family, number> = { 4: spec.hostSubnet ?? 24, 6: HOST_SUBNET_V6 };
  for (const f of [4, 6] as const) {
    const c = cidrs[f];
    if (c === undefined) continue;
    const spare = hostLen[f] - c.prefix;
    if (spare < 0 || (spare < 31 && 2 ** spare < nodes.length) || hostLen[f] > (f === 4 ? 30 : 126))
      problem(
        `${field}.${f === 4 ? "hostSubnet" : "subnets"}`,
        `${formatCidr(c)} has no /${hostLen[f]} subnet for each of the ${nodes.length} nodes`,
      );
  }
  const families = ([4, 6] as const).filter((f) => cidrs[f] !== undefined);
  /** A value per family of the network, from its CIDR. */
  const perFamily = <T>(f: (c: Cidr, fam: Family) => T): ByFamily<T> => {
    const out: ByFamily<T> = {};
    for (const fam of families) {
      const c = cidrs[fam];
      if (c !== undefined) out[fam] = f(c, fam);
    }
    return out;
  };
  return {
    kind: "layer3",
    subnets: perFamily((c) => formatCidr(c)),
    nodes: nodes.map((node, i): LabUdnNode => {
      const share = (c: Cidr, fam: Family): Cidr => nthSubnet(c, hostLen[fam], i);
      const at = (n: number) => perFamily((c, fam) => formatIp(nthIp(share(c, fam), n)));
      const firstCidr = families[0] === undefined ? undefined : cidrs[families[0]];
      const macAt = (n: number): string =>
        firstCidr === undefined || families[0] === undefined
          ? ""
          : macFromIp(nthIp(share(firstCidr, families[0]), n));
      return {
        node,
        subnets: perFamily((c, fam) => formatCidr(share(c, fam))),
        gatewayCidrs: perFamily((c, fam) => `${formatIp(nthIp(share(c, fam), 1))}/${hostLen[fam]}`),
        gatewayMac: macAt(1),
        mgmtIps: at(2),
        mgmtMac: macAt(2),
      };
    }),
  };
}

/**
 * The pod's address on the network: after the gateway and the management port of its node's share (layer3), of
 * the network's subnet (layer2); `index` counts the pods before it there.
 */
export function podNetwork(
  network: string,
  topology: LabUdnTopology,
  pod: { readonly namespace: string; readonly name: string; readonly uid: string; readonly node: string },
  index: number,
): LabPodNetwork | undefined {
  const share = topology.kind === "layer2" ? topology : topology.nodes.find((n) => n.node === pod.node);
  const nad = nadOf(network, pod.namespace);
  if (share === undefined || nad === undefined) return undefined;
  const ips: ByFamily<string> = {};
  let mac = "";
  for (const f of [4, 6] as const) {
    const sub = share.subnets[f] === undefined ? undefined : parseCidr(share.subnets[f]);
    if (sub === undefined) continue;
    const ip = nthIp(sub, 3 + index);
    if (!contains(sub, ip)) return undefined;
    ips[f] = formatIp(ip);
    if (mac === "") mac = macFromIp(ip);
  }
  return {
    network,
    nad,
    lsp: `${networkPrefix(nad)}${pod.namespace}_${pod.name}`,
    iface: createHash("sha256").update(`${pod.uid}/${nad}`).digest("hex").slice(0, 15),
    ips,
    mac,
    ...(topology.kind === "layer2" ? { tunnelId: index + 1 } : {}),
  };
}

/** What a pod on `node` sees of the network: its on-link subnets and its gateway. */
export interface NetworkShare {
  readonly subnets: ByFamily<string>;
  readonly gatewayIps: ByFamily<string>;
  readonly gatewayMac: string;
}

export function shareOf(topology: LabUdnTopology, node: string): NetworkShare | undefined {
  if (topology.kind === "layer2") {
    const first = topology.gatewayIps[4] ?? topology.gatewayIps[6];
    const ip = first === undefined ? undefined : parseIp(first);
    return { ...topology, gatewayMac: ip === undefined ? "" : macFromIp(ip) };
  }
  const n = topology.nodes.find((x) => x.node === node);
  if (n === undefined) return undefined;
  const gatewayIps: ByFamily<string> = {};
  for (const f of [4, 6] as const) {
    const gw = n.gatewayCidrs[f]?.split("/")[0];
    if (gw !== undefined) gatewayIps[f] = gw;
  }
  return { subnets: n.subnets, gatewayIps, gatewayMac: n.gatewayMac };
}
