/**
 * The trace report: what the tool found out about one packet, as plain JSON-safe data. Its JSON
 * schema (schema/trace-report.schema.json) is generated from these types; bump
 * REPORT_SCHEMA_VERSION on any incompatible change.
 */

export const REPORT_SCHEMA_VERSION = "1.0";

export type Family = 4 | 6;
export type L4Protocol = "tcp" | "udp" | "icmp";
export type ClusterShape = "central" | "interconnect";

/** A point of the cluster a packet starts from or goes to. */
export type Endpoint =
  | {
      readonly kind: "pod";
      readonly namespace: string;
      readonly name: string;
      readonly node: string;
      readonly ip: string;
      readonly mac?: string;
      /** Logical switch port (`<namespace>_<name>`), absent for host-network pods. */
      readonly lsp?: string;
      /** OVS interface on br-int and its OpenFlow port number, when known. */
      readonly iface?: string;
      readonly ofport?: number;
      readonly hostNetwork: boolean;
    }
  | {
      readonly kind: "service";
      readonly namespace: string;
      readonly name: string;
      readonly ip: string;
      readonly port: number;
    }
  | { readonly kind: "node"; readonly name: string; readonly ip: string }
  | { readonly kind: "external"; readonly ip: string };

/** The packet asked about: the first packet of a connection (forward) or its reply. */
export interface PacketSpec {
  readonly direction: "forward" | "reply";
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly srcIp: string;
  readonly dstIp: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
  /** Conntrack state the traces assume at each ct() (e.g. "trk,new" or "trk,est,rpl"). */
  readonly ctState: string;
}

/** Where in the text of a tool's output something was read. */
export interface OutputRef {
  readonly line: number;
  readonly text: string;
}

/** One step of a hop that explains the outcome. */
export type Step =
  | {
      readonly kind: "logical-stage";
      readonly datapath: string;
      readonly pipeline: "ingress" | "egress";
      readonly table: number;
      readonly stage: string;
      readonly priority?: number;
      readonly match?: string;
      readonly actions: readonly string[];
      readonly uuid?: string;
      readonly source: OutputRef;
    }
  | {
      readonly kind: "openflow";
      readonly bridge: string;
      readonly table: number;
      readonly priority?: number;
      readonly cookie?: string;
      readonly match: string;
      readonly actions: readonly string[];
      readonly source: OutputRef;
    }
  | {
      readonly kind: "conntrack";
      readonly zone?: number;
      readonly state: string;
      readonly nat?: { readonly type: "snat" | "dnat"; readonly to: string };
    }
  | {
      readonly kind: "tunnel";
      readonly vni: number;
      readonly src?: string;
      readonly dst: string;
      readonly toNode?: string;
      readonly ingressPortKey?: number;
      readonly egressPortKey?: number;
    };

/** How one hop (one tool run on one node) ended. */
export type HopOutcome =
  | { readonly kind: "output"; readonly port: string; readonly portType?: string }
  | { readonly kind: "tunnel"; readonly toNode: string; readonly vni: number }
  | {
      readonly kind: "dropped";
      readonly where: string;
      readonly reason: string;
      readonly source?: OutputRef;
      /** OpenFlow cookie of the dropping step (the logical flow's uuid prefix). */
      readonly cookie?: string;
    }
  | { readonly kind: "error"; readonly message: string };

/** ovn-detrace's annotation of an ofproto/trace hop (the Go tool's detrace step). */
export interface Detrace {
  readonly exitCode: number;
  readonly output: string;
  readonly error?: string;
}

/** One run of ovn-trace or ofproto/trace on one node (or zone). */
export interface Hop {
  readonly tool: "ovn-trace" | "ofproto/trace";
  readonly node: string;
  readonly zone?: string;
  /** Logical datapath (ovn-trace) or bridge (ofproto/trace) it started in. */
  readonly startsIn: string;
  readonly command: readonly string[];
  readonly steps: readonly Step[];
  readonly outcome: HopOutcome;
  /** The tool's whole output, for -loglevel 2 and for pointing at lines. */
  readonly output: string;
  readonly durationMs?: number;
  readonly detrace?: Detrace;
}

/** A Kubernetes object an explanation points at. */
export interface KubeObjectRef {
  readonly kind: string;
  readonly namespace?: string;
  readonly name: string;
}

/**
 * A packet's addresses and ports as they are on arrival (delivered: as the receiver sees it, after every
 * NAT; left the cluster: as it leaves, after SNAT; rejected: the answer the sender gets). No ports for ICMP.
 * Absent when the trace could not tell.
 */
export interface ArrivalAddresses {
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly srcPort?: number;
  readonly dstPort?: number;
}

/** The host's route for a packet OVN handed it, as `ip -j route get DST from SRC iif ovn-k8s-mp0` on the node said. */
export interface HostRoute {
  /** The command that was run on the node. */
  readonly command: string;
  /** The route type when not a plain unicast one (`local`: the address is the host's own, `unreachable`, ...). */
  readonly type?: string;
  readonly dev?: string;
  readonly gateway?: string;
  readonly prefsrc?: string;
}

/**
 * A packet OVN handed to a node's host network stack at the management port (ovn-k8s-mp0): a host-network
 * destination, or in local gateway mode (routingViaHost) a pod's packet to an address outside the cluster network.
 */
export interface HostHandoff {
  readonly node: string;
  /** The host interface it arrives on (ovn-k8s-mp0). */
  readonly iface: string;
  /** The node's gateway mode, from its k8s.ovn.org/l3-gateway-config annotation. */
  readonly gatewayMode: "shared" | "local";
  /** The cluster router's rule that sent it to the management port (a route or a policy), as ovn-trace matched it. */
  readonly rule?: string;
  /** What the node's routes do with it, or why they could not be read. */
  readonly route: HostRoute | { readonly unknown: string };
  /** What the host does next that the trace does not read (the trace reads routes, never iptables or nftables). */
  readonly notRead: string;
}

/** The final word on a packet. */
export type Verdict =
  | ({
      readonly kind: "delivered";
      readonly to: Endpoint;
      readonly node: string;
      readonly port: string;
      /** The Service whose load balancer chose this backend, for a trace to a service. */
      readonly service?: KubeObjectRef;
      /** The load balancer chose the sender itself: OVN sent the packet back with this source (hairpin SNAT). */
      readonly hairpin?: { readonly snatIp: string; readonly loadBalancer?: string };
      /** OVN handed the packet to the node's host network stack at its management port: what sent it there, what next. */
      readonly host?: HostHandoff;
    } & ArrivalAddresses)
  | {
      readonly kind: "dropped";
      readonly node: string;
      readonly where: string;
      readonly reason: string;
      /** Why, in Kubernetes terms, when the databases say (the ACL's ovn-kubernetes owner). */
      readonly explanation?: string;
      readonly objects?: readonly KubeObjectRef[];
    }
  | ({
      readonly kind: "left-cluster";
      readonly node: string;
      readonly via: string;
      readonly snatIp?: string;
      /** The gateway it left through, in Kubernetes terms ("gateway router of node ovn-worker"). */
      readonly gateway?: string;
      /** What the SNAT address is: the node's IP on its gateway router, an EgressIP (from the NB NAT row). */
      readonly snat?: string;
      /** The rule that let it out, in Kubernetes terms: an EgressFirewall's Allow rule. */
      readonly allowedBy?: string;
      /** Why it left through this node, in Kubernetes terms: an EgressIP's reroute to its egress node. */
      readonly reroutedBy?: string;
      readonly objects?: readonly KubeObjectRef[];
    } & ArrivalAddresses)
  | ({
      readonly kind: "rejected";
      readonly node: string;
      /** OVN's words: the logical flow that rejects. */
      readonly reason: string;
      /** Why, in Kubernetes terms (a Service without ready endpoints, a policy that rejects). */
      readonly explanation?: string;
      readonly objects?: readonly KubeObjectRef[];
      /** The answer the sender gets (TCP RST|ACK, ICMP unreachable): its addresses as the sender sees them. */
    } & ArrivalAddresses)
  | { readonly kind: "unknown"; readonly reason: string };

/** What a real packet injected in the lab did (ground truth), when the report was made on the lab. */
export interface GroundTruth {
  readonly verdict: "delivered" | "delivered-to-host" | "left-cluster" | "rejected" | "not-delivered";
  readonly node?: string;
  readonly pod?: string;
  readonly srcIp?: string;
  readonly dstIp?: string;
  readonly agrees: boolean;
}

/** One verdict of one tool, as the Go ovnkube-trace prints it ("... indicates success from A to B"). */
export interface Check {
  readonly tool: "ovn-trace" | "ofproto/trace" | "ovn-detrace";
  readonly success: boolean;
  /** What was expected or what happened instead. */
  readonly detail: string;
}

/** One end of a direction, as the summary shows it. */
export interface SummaryEndpoint {
  readonly kind: "pod" | "service" | "node" | "external";
  readonly namespace?: string;
  readonly name?: string;
  readonly node?: string;
  readonly ip?: string;
  readonly mac?: string;
  /** The pod's OVS interface on br-int and its OpenFlow port number. */
  readonly iface?: string;
  readonly ofport?: number;
  /** The pod's primary user-defined network, when the packet uses its interface there. */
  readonly network?: { readonly name: string; readonly object: KubeObjectRef };
}

/** The load balancer's choice on a trace to a service. */
export interface ServiceBackendSummary {
  readonly service: KubeObjectRef;
  /** The service address the packet was sent to ("10.96.0.10:53"). */
  readonly vip: string;
  /** The backend it was DNATed to ("10.244.2.3:53"). */
  readonly backend: string;
  readonly pod?: KubeObjectRef;
  /** The Service's Local traffic policy that chose among the endpoints on this node only. */
  readonly local?: {
    readonly policy: "externalTrafficPolicy" | "internalTrafficPolicy";
    readonly node: string;
    /** Endpoints on other nodes the policy left out. */
    readonly elsewhere: number;
  };
}

/** One geneve tunnel the packet crossed between two nodes. */
export interface TunnelSummary {
  readonly fromNode: string;
  readonly toNode: string;
  /** The VNI: the tunnel key of the logical datapath the packet travels in. */
  readonly vni: number;
  readonly vniHex: string;
  /** That datapath's name, when the source zone's databases were read. */
  readonly datapath?: string;
  /** The remote tunnel endpoint (the destination node's encap IP). */
  readonly remoteIp?: string;
  /** OVN's Geneve option: the logical ingress and egress port keys, and their names when known. */
  readonly ingressPortKey?: number;
  readonly egressPortKey?: number;
  readonly ingressPort?: string;
  readonly egressPort?: string;
}

/** What the source address was translated to when the packet left the cluster. */
export interface SnatSummary {
  readonly ip: string;
  /** "the IP of node ovn-worker: SNAT by its gateway router GR_ovn-worker", "EgressIP ...", or "unknown (...)". */
  readonly description: string;
  readonly objects?: readonly KubeObjectRef[];
}

/** One direction at a glance: who talked to whom, through what, and what happened and why. */
export interface DirectionSummary {
  readonly source: SummaryEndpoint;
  readonly destination: SummaryEndpoint;
  readonly serviceBackend?: ServiceBackendSummary;
  readonly tunnels: readonly TunnelSummary[];
  readonly snat?: SnatSummary;
  /** The packet's addresses on arrival (delivered, left the cluster) or of the answer (rejected). */
  readonly arrival?: ArrivalAddresses;
  readonly verdict: Verdict["kind"];
  /** The verdict and its reason, in Kubernetes terms when the databases say. */
  readonly reason: string;
  readonly objects?: readonly KubeObjectRef[];
}

export interface DirectionReport {
  readonly packet: PacketSpec;
  readonly checks: readonly Check[];
  readonly hops: readonly Hop[];
  readonly verdict: Verdict;
  readonly groundTruth?: GroundTruth;
  readonly summary?: DirectionSummary;
}

export interface TraceReport {
  readonly schemaVersion: typeof REPORT_SCHEMA_VERSION;
  readonly tool: { readonly name: "ovnkube-trace"; readonly version: string };
  readonly cluster: {
    readonly backend: "kube" | "lab" | "snapshot";
    readonly shape?: ClusterShape;
    readonly name?: string;
  };
  readonly src: Endpoint;
  readonly dst: Endpoint;
  readonly forward: DirectionReport;
  readonly reply?: DirectionReport;
}
