/** A lab scenario: the Kubernetes cluster the lab builds, as a user writes it (YAML or JSON). */

export type ClusterShape = "central" | "interconnect";
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
}

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
}

export interface Scenario {
  readonly name: string;
  readonly description?: string;
  readonly shape?: ClusterShape;
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
}
