import type { Family, L4Protocol } from "./report.js";

/** A pod that sends the packet (`kind` may be left out: a bare namespace and name is a pod). */
export interface PodSource {
  readonly kind?: "pod";
  readonly namespace: string;
  readonly name: string;
}

/**
 * A client outside the cluster: its address, and the node whose external interface (the uplink of the node's
 * shared gateway bridge) the packet enters the cluster on.
 */
export interface ExternalSource {
  readonly kind: "external";
  readonly ip: string;
  readonly node: string;
}

/** Where the packet comes from: a pod, or a client outside the cluster. */
export type TraceSource = PodSource | ExternalSource;

/** What the user asked for, in the Go tool's terms (and traffic entering from outside, which it cannot trace). */
export interface TraceTarget {
  readonly src: TraceSource;
  readonly dst:
    | { readonly kind: "pod"; readonly namespace: string; readonly name: string }
    | { readonly kind: "service"; readonly namespace: string; readonly name: string }
    | { readonly kind: "ip"; readonly ip: string };
  readonly protocol: L4Protocol;
  readonly dstPort: number;
  readonly family?: Family;
}

/** The target resolved through the cluster's objects: pods, the service and its backends, the nodes. */
export interface ResolvedPod {
  readonly kind: "pod";
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly mac: string;
  readonly hostNetwork: boolean;
  /**
   * Logical switch port: <ns>_<pod>, or k8s-<node> (the management port) for a host-network pod; on a primary
   * user-defined network `<network prefix><ns>_<pod>`.
   */
  readonly lsp: string;
  /** Set when the pod sends or is reached on its primary user-defined network rather than the default one. */
  readonly network?: ResolvedPodNetwork;
}

/** A pod's interface on its primary user-defined network, from its k8s.ovn.org/pod-networks entry. */
export interface ResolvedPodNetwork {
  /** The network name (a key of the node's k8s.ovn.org/node-subnets), e.g. `<namespace>_<udn>`, `cluster_udn_<cudn>`. */
  readonly name: string;
  /** The NetworkAttachmentDefinition `<namespace>/<name>` the pod is attached through. */
  readonly nad: string;
  /** The node's subnet of the network (the pod's on-link addresses). */
  readonly subnet: string;
  /**
   * The MAC of its gateway (layer3: the router port `rtos-<prefix><node>`); absent when the annotation names none
   * (objects derived from OVN databases without the network's gateway routers): only on-link peers are reachable.
   */
  readonly gatewayMac?: string;
}

/**
 * A client outside the cluster, as its packet enters the node: on the uplink of the shared gateway bridge, into
 * OVN through the gateway's localnet port. Read from the node's k8s.ovn.org/l3-gateway-config.
 */
export interface ResolvedExternal {
  readonly kind: "external";
  readonly ip: string;
  /** The node it enters the cluster on. */
  readonly node: string;
  /**
   * The source MAC of its frames: its next hop's (a router's, the client's own on the node's link). The API does
   * not know it; OVN does not check it. A fixed address unless given.
   */
  readonly mac: string;
  /** The logical port it enters OVN on: the gateway's localnet port (interface-id), ovn-trace's inport. */
  readonly lsp: string;
  /** The node's shared gateway bridge (bridge-id), whose uplink the packet arrives on. */
  readonly bridge: string;
  /** The node's MAC (the gateway router's external port shares it): what the client addresses. */
  readonly nodeMac: string;
  /** The node's address of the packet's family. */
  readonly nodeIp: string;
}

/** Who sends the packet a direction traces. */
export type ResolvedSource = ResolvedPod | ResolvedExternal;

/** A node's shared gateway, from its k8s.ovn.org/l3-gateway-config annotation. */
export interface ResolvedGateway {
  readonly bridge: string;
  /** The localnet logical port on the node's external switch. */
  readonly interfaceId: string;
  readonly mac: string;
  /** The node's addresses, without prefix length. */
  readonly ips: readonly string[];
  readonly nextHops: readonly string[];
}

export interface ResolvedService {
  readonly kind: "service";
  readonly namespace: string;
  readonly name: string;
  /** The address the packet is sent to: the cluster IP, or the entry node's IP for a NodePort from outside. */
  readonly ip: string;
  /** The port the packet is sent to: the Service port, or its nodePort. */
  readonly port: number;
  /** Set when the packet is addressed to a node's IP and this nodePort (from outside the cluster). */
  readonly nodePort?: number;
  readonly targetPort: number;
  /** Endpoints of the requested family that are pods (host-network endpoints are skipped, as the Go tool does). */
  readonly backends: readonly ResolvedPod[];
  /** A Local traffic policy left only the backends on the node the packet reaches the Service at. */
  readonly local?: LocalTrafficPolicy;
}

export interface LocalTrafficPolicy {
  /** externalTrafficPolicy: a NodePort from outside; internalTrafficPolicy: a pod to the cluster IP. */
  readonly policy: "externalTrafficPolicy" | "internalTrafficPolicy";
  readonly node: string;
  /** The Service's pod endpoints of the family on other nodes, which the policy leaves out. */
  readonly elsewhere: number;
}

export interface ResolvedNode {
  readonly name: string;
  /** ovn-kubernetes zone (one per node on interconnect clusters, "global" on central ones). */
  readonly zone: string;
  readonly chassisId?: string;
  readonly gatewayMode: "shared" | "local";
  readonly subnets: readonly string[];
  /** MAC of rtos-<node>, the pods' default gateway, for each family's subnet. */
  readonly gatewayMac: string;
  /** MAC of rtots-<node> (interconnect only). */
  readonly transitMac?: string;
  /** The node's shared gateway (absent when its annotation is missing). */
  readonly gateway?: ResolvedGateway;
}

export interface Resolution {
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly dstPort: number;
  readonly src: ResolvedSource;
  readonly dst: ResolvedPod | ResolvedService | { readonly kind: "external"; readonly ip: string };
  readonly nodes: ReadonlyMap<string, ResolvedNode>;
  readonly interconnect: boolean;
}
