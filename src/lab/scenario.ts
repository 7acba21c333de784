/** A lab scenario: the Kubernetes cluster the lab builds, as a user writes it (YAML or JSON). */

import type { DnsRecordSpec, EgressFirewallSpec } from "./egress-firewall-scenario.js";

export type ClusterShape = "central" | "interconnect";
/** ovn-kubernetes' gateway mode: `local` (routingViaHost) sends pod egress through the host at ovn-k8s-mp0. */
export type GatewayMode = "shared" | "local";
export type Protocol = "TCP" | "UDP" | "SCTP";

/** An address pair, one per IP family; either may be absent (single stack). */
export interface DualStack {
  readonly ipv4?: string;
  readonly ipv6?: string;
}

export interface NodeSpec {
  readonly name: string;
  /** Underlay (kind docker network) IPv4 of the node: geneve endpoint and SNAT address. */
  readonly ip?: string;
  /** Optional underlay IPv6, used as the node's IPv6 SNAT address. */
  readonly ipv6?: string;
  /** Pod subnets of the node; default: the next /24 (/64) of the cluster network, in node order. */
  readonly subnets?: DualStack;
  /** ovn-kubernetes node id (transit switch port key, join/transit IPs); default: position + 2. */
  readonly nodeId?: number;
  readonly labels?: Readonly<Record<string, string>>;
}

export interface LabelSelector {
  readonly matchLabels?: Readonly<Record<string, string>>;
}

export interface ContainerPort {
  readonly port: number;
  readonly protocol?: Protocol;
  readonly name?: string;
}

export interface PodSpec {
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** Pod IPs, at most one per family; a hostNetwork pod takes the node's IPs and lists none. */
  readonly ips?: readonly string[];
  readonly hostNetwork?: boolean;
  readonly labels?: Readonly<Record<string, string>>;
  readonly ports?: readonly ContainerPort[];
}

export interface ServicePort {
  readonly name?: string;
  readonly protocol?: Protocol;
  readonly port: number;
  readonly targetPort?: number;
  readonly nodePort?: number;
}

export interface ServiceSpec {
  readonly namespace: string;
  readonly name: string;
  readonly type?: "ClusterIP" | "NodePort";
  readonly clusterIPs: readonly string[];
  readonly ports: readonly ServicePort[];
  /** Endpoints are the pods of the namespace that match; no selector means no endpoints. */
  readonly selector?: Readonly<Record<string, string>>;
  /** NodePort only (default Cluster): Local sends what enters a node only to that node's endpoints, unSNATed. */
  readonly externalTrafficPolicy?: TrafficPolicy;
  /** Default Cluster: Local sends what a pod sends to the cluster IP only to endpoints on the pod's node. */
  readonly internalTrafficPolicy?: TrafficPolicy;
}

export type TrafficPolicy = "Cluster" | "Local";

export interface IPBlock {
  readonly cidr: string;
  readonly except?: readonly string[];
}

export interface PolicyPeer {
  readonly podSelector?: LabelSelector;
  readonly namespaceSelector?: LabelSelector;
  readonly ipBlock?: IPBlock;
}

export interface PolicyPort {
  readonly protocol?: Protocol;
  readonly port?: number;
  readonly endPort?: number;
}

export interface IngressRule {
  readonly from?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export interface EgressRule {
  readonly to?: readonly PolicyPeer[];
  readonly ports?: readonly PolicyPort[];
}

export interface NetworkPolicySpec {
  readonly namespace: string;
  readonly name: string;
  readonly podSelector: LabelSelector;
  readonly policyTypes?: readonly ("Ingress" | "Egress")[];
  readonly ingress?: readonly IngressRule[];
  readonly egress?: readonly EgressRule[];
}

export interface NamespaceSpec {
  readonly name: string;
  readonly labels?: Readonly<Record<string, string>>;
}

/**
 * A user-defined network as cluster-manager sees it: a name and an id. The lab gives it the node
 * annotation and a management link per node, not an OVN topology.
 */
export interface UserDefinedNetworkSpec {
  /** Network name as in the network-ids annotation: `<namespace>_<udn>` or `cluster_udn_<cudn>` in ovn-kubernetes. */
  readonly name: string;
  /** Network id (cluster-manager allocates them from 1; the default network is 0). */
  readonly id: number;
  /** Namespaces the network is primary for (created if needed, labelled k8s.ovn.org/primary-user-defined-network). */
  readonly namespaces?: readonly string[];
  /**
   * The network's OVN topology, as ovnkube-controller builds it for a primary network; without it the network
   * has only its id (annotation and management link) and its namespaces' pods stay on the default network.
   */
  readonly topology?: UserDefinedNetworkTopology;
}

/** A layer3 network: a subnet per node (`hostSubnet` bits) cut from `subnets`, a cluster router joining them. */
export interface Layer3TopologySpec {
  readonly kind: "layer3";
  /** The network's CIDRs, at most one per family, e.g. 10.100.0.0/16. */
  readonly subnets: readonly string[];
  /** Prefix length of each node's IPv4 subnet (default 24; IPv6 is always /64). */
  readonly hostSubnet?: number;
}

/** A layer2 network: one switch across every node, one subnet; pods keep their address wherever they run. */
export interface Layer2TopologySpec {
  readonly kind: "layer2";
  /** The network's CIDRs, at most one per family, e.g. 10.100.0.0/16. */
  readonly subnets: readonly string[];
}

export type UserDefinedNetworkTopology = Layer3TopologySpec | Layer2TopologySpec;

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly shape?: ClusterShape;
  /** Gateway mode of every node (default shared). */
  readonly gatewayMode?: GatewayMode;
  /** Cluster pod network per family (default 10.244.0.0/16 and, if any pod has IPv6, fd00:10:244::/48). */
  readonly clusterNetwork?: DualStack;
  /** Underlay network of the nodes (default 172.18.0.0/16, gateway .1). */
  readonly underlay?: { readonly cidr?: string; readonly gateway?: string; readonly gatewayV6?: string };
  readonly nodes: readonly NodeSpec[];
  readonly namespaces?: readonly NamespaceSpec[];
  readonly pods?: readonly PodSpec[];
  readonly services?: readonly ServiceSpec[];
  readonly networkPolicies?: readonly NetworkPolicySpec[];
  readonly userDefinedNetworks?: readonly UserDefinedNetworkSpec[];
  /** EgressFirewalls, at most one per namespace (see egress-firewall-scenario.ts). */
  readonly egressFirewalls?: readonly EgressFirewallSpec[];
  /** What the DNS names of EgressFirewall rules resolve to. */
  readonly dnsRecords?: readonly DnsRecordSpec[];
  /** EgressIPs (k8s.ovn.org/v1); see egress-ip.ts. */
  readonly egressIPs?: readonly EgressIPSpec[];
}

/**
 * An EgressIP (k8s.ovn.org/v1): the pods it selects leave the cluster from an egress node, SNATed to an egress IP
 * instead of their own node's IP.
 */
export interface EgressIPSpec {
  readonly name: string;
  /** spec.egressIPs: IPv4 addresses of the underlay that no node or other EgressIP has. */
  readonly egressIPs: readonly string[];
  readonly namespaceSelector: LabelSelector;
  /** Default: every pod of the selected namespaces. */
  readonly podSelector?: LabelSelector;
  /**
   * status.items: the egress node of each egress IP, in order, each labelled k8s.ovn.org/egress-assignable;
   * default: the labelled nodes in turn, as cluster-manager would assign them.
   */
  readonly nodes?: readonly string[];
}
