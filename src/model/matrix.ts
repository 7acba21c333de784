import type { ClusterShape, Family, KubeObjectRef, L4Protocol } from "./report.js";

/**
 * The reachability matrix (`ovnkube-trace matrix`): who can open a connection to whom, for a set of source pods,
 * destination pods and Services and ports, each cell decided by OVN's logical pipeline (ovn-trace) and, on request,
 * confirmed by OpenFlow. Its JSON schema (schema/matrix.schema.json) is generated from these types; bump
 * MATRIX_SCHEMA_VERSION on any incompatible change.
 */
export const MATRIX_SCHEMA_VERSION = "1.0";

/** A port of the matrix: `tcp/80`, `udp/53`, `icmp` (an echo request, no port). */
export interface MatrixPort {
  readonly protocol: L4Protocol;
  /** 0 for icmp. */
  readonly port: number;
}

/** A pod of the matrix (a source, or a destination). */
export interface MatrixPod {
  readonly kind: "pod";
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  /** The address traced (of the matrix's family). */
  readonly ip: string;
  readonly labels: Readonly<Record<string, string>>;
}

/** A Service as a destination: its cluster IP, on the matrix's ports it exposes. */
export interface MatrixService {
  readonly kind: "service";
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  /** Indices into `ports` of the ports it exposes (the others have no cell). */
  readonly ports: readonly number[];
}

export type MatrixDestination = MatrixPod | MatrixService;

/**
 * What happens to the first packet of a connection:
 * - `allowed`: delivered to the destination pod (each backend, for a Service);
 * - `dropped`: OVN drops it (a NetworkPolicy's default deny, named, or another logical flow);
 * - `rejected`: OVN answers the sender (a Service without endpoints: TCP RST, ICMP unreachable);
 * - `mixed`: a Service whose backends do not all get the same verdict (see `backends`);
 * - `unknown`: no verdict could be established (why in `explanation`);
 * - `self`: a pod to itself: the packet never leaves the pod, not traced.
 */
export type MatrixVerdictKind = "allowed" | "dropped" | "rejected" | "mixed" | "unknown" | "self";

/** Which side's NetworkPolicies decided: the sender's egress or the receiver's ingress. */
export type PolicyDirection = "ingress" | "egress";

/** A verdict for one packet (one backend of a Service), with the Kubernetes objects that decide it. */
export interface MatrixOutcome {
  readonly verdict: MatrixVerdictKind;
  /** In Kubernetes terms: the NetworkPolicy rule that allowed it, the default deny that dropped it, and why. */
  readonly explanation: string;
  /** The deciding objects: NetworkPolicies (and their namespace for a default deny), the Service. */
  readonly objects: readonly KubeObjectRef[];
  /** For a policy's drop (or allow): whose policy: the sender's egress or the receiver's ingress. */
  readonly direction?: PolicyDirection;
  /** Where OVN dropped or rejected it: node, and the logical stage ("ovn-worker2 ls_out_acl priority 2000"). */
  readonly node?: string;
  readonly where?: string;
}

/** One backend of a Service cell. */
export interface MatrixBackendOutcome extends MatrixOutcome {
  readonly pod: {
    readonly namespace: string;
    readonly name: string;
    readonly node: string;
    readonly ip: string;
  };
}

/** The full trace's verdict (ofproto/trace on every node, `--openflow`), against the logical one. */
export interface MatrixOpenFlowCheck {
  readonly verdict: MatrixVerdictKind;
  /** True when OpenFlow and ovn-trace say the same (for each backend of a Service). */
  readonly agrees: boolean;
  readonly explanation: string;
}

/** One cell: a source, a destination, a port. */
export interface MatrixCell extends MatrixOutcome {
  /** Index into `sources`. */
  readonly from: number;
  /** Index into `destinations`. */
  readonly to: number;
  /** Index into `ports`. */
  readonly port: number;
  /** Each backend's verdict, for a Service. */
  readonly backends?: readonly MatrixBackendOutcome[];
  readonly openflow?: MatrixOpenFlowCheck;
}

/** A pod the selectors matched and the matrix leaves out, and why (host network, no IP, not scheduled). */
export interface MatrixSkipped {
  readonly namespace: string;
  readonly name: string;
  readonly why: string;
}

export interface ReachabilityMatrix {
  readonly schemaVersion: typeof MATRIX_SCHEMA_VERSION;
  readonly kind: "ReachabilityMatrix";
  readonly tool: { readonly name: "ovnkube-trace"; readonly version: string };
  readonly cluster: {
    readonly backend: "kube" | "lab" | "snapshot";
    readonly description: string;
    readonly shape: ClusterShape;
  };
  /** `ovn-trace`: each cell from the logical pipeline; `ovn-trace+openflow`: also the full trace of each. */
  readonly method: "ovn-trace" | "ovn-trace+openflow";
  readonly family: Family;
  /** The source port of every traced packet. */
  readonly srcPort: number;
  /** How sources and destinations were chosen, as given. */
  readonly selection: {
    readonly from: { readonly namespaces: readonly string[]; readonly selector: string };
    readonly to: {
      readonly namespaces: readonly string[];
      readonly selector: string;
      readonly services: boolean;
    };
  };
  readonly ports: readonly MatrixPort[];
  readonly sources: readonly MatrixPod[];
  readonly destinations: readonly MatrixDestination[];
  /** Row-major: for each source, each destination, each port it has. */
  readonly cells: readonly MatrixCell[];
  readonly skipped: readonly MatrixSkipped[];
  readonly counts: Readonly<Record<MatrixVerdictKind, number>>;
  readonly stats: {
    readonly cells: number;
    /** ovn-trace runs (one per zone the packet crosses, per backend). */
    readonly ovnTraces: number;
    /** Full traces run for `--openflow`. */
    readonly fullTraces: number;
    readonly elapsedMs: number;
    readonly cellsPerSecond: number;
  };
}
