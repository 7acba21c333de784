import type { OvnDatabases } from "../model/ovsdb.js";
import type {
  EndpointSliceObject,
  KubeObject,
  NamespaceObject,
  NetworkPolicyObject,
  NodeObject,
  PodObject,
  ServiceObject,
} from "./kube-objects.js";

/** The result of running a command: a failed command is data, not an exception. */
export interface ExecResult {
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly stdout: string;
  readonly stderr: string;
  readonly timedOut: boolean;
  readonly durationMs: number;
  /** What answered instead of a process started for this command (an ovn-trace daemon: "ovn-trace daemon <pid>"). */
  readonly servedBy?: string;
}

/** One line naming a failed command, for error messages. */
export function describeFailure(r: ExecResult): string {
  const full = r.argv.join(" ");
  const cmd = full.length > 160 ? `${full.slice(0, 160)} …` : full;
  if (r.timedOut) return `${cmd}: timed out after ${r.durationMs} ms`;
  const why = r.stderr.trim() || r.stdout.trim() || "no output";
  return `${cmd}: exit ${r.exitCode}: ${why.split("\n").slice(-3).join(" | ")}`;
}

/** One ovn-trace, as `ovn-trace --detailed --ct=CT... [--lb-dst=LBDST] DATAPATH MICROFLOW` would run it. */
export interface OvnTraceCall {
  /** The ct_state flags every ct action of the trace reports (ovn-trace's --ct, the same for each). */
  readonly ct: string;
  /** The backend ct_lb picks ("ip:port", ovn-trace's --lb-dst). */
  readonly lbDst?: string;
  readonly datapath: string;
  readonly microflow: string;
  /** The one-shot command that prints the same, run on the node when a daemon is not worth starting. */
  readonly oneShot: readonly string[];
}

/** A custom resource the tracer collects where the cluster serves it (its CRD installed). */
export interface CustomResource {
  readonly group: string;
  readonly version: string;
  /** As in the API path: `adminnetworkpolicies`. */
  readonly plural: string;
  readonly kind: string;
  readonly namespaced: boolean;
}

/** Kubernetes list filters, as the API server takes them. */
export interface ListOptions {
  readonly labelSelector?: string;
  readonly fieldSelector?: string;
}

export interface NodeExecOptions {
  readonly timeoutMs?: number;
  readonly stdin?: string;
}

/** What one trace used on one node (ClusterBackend.incompleteData leaves out the problems of the rest). */
export interface NodeUse {
  /** The bridges it crossed: ofproto/trace's `bridge("...")` headers (br-int, and breth0 through a patch port). */
  readonly bridges: readonly string[];
  /**
   * It sent the packet to a tunnel port, whether or not the tunnel could be routed: ofproto/trace prints
   * `-> output to native tunnel` (then the tunnel's route, or `native tunnel routing failed`).
   */
  readonly tunnel: boolean;
}

/**
 * Everything the tracer needs from a cluster: its Kubernetes objects, and running a command in a
 * node's OVS/OVN context. A live cluster (kube), the built-in lab and an offline replica
 * (snapshot) implement it; the engine never knows which one it talks to.
 */
export interface ClusterBackend {
  readonly kind: "kube" | "lab" | "snapshot";
  /** A human description: the kube context, the lab directory, the snapshot path. */
  readonly description: string;
  readPod(namespace: string, name: string): Promise<PodObject>;
  /** Pods of a namespace, or of all namespaces when `namespace` is undefined. */
  listPods(namespace: string | undefined, options?: ListOptions): Promise<PodObject[]>;
  readNode(name: string): Promise<NodeObject>;
  listNodes(options?: ListOptions): Promise<NodeObject[]>;
  readNamespace(name: string): Promise<NamespaceObject>;
  listNamespaces(): Promise<NamespaceObject[]>;
  readService(namespace: string, name: string): Promise<ServiceObject>;
  /** Services of a namespace, or of all namespaces when `namespace` is undefined. */
  listServices(namespace: string | undefined): Promise<ServiceObject[]>;
  listEndpointSlices(namespace: string | undefined, options?: ListOptions): Promise<EndpointSliceObject[]>;
  listNetworkPolicies(namespace: string | undefined): Promise<NetworkPolicyObject[]>;
  /**
   * Every object of a custom resource (all namespaces); none when the cluster does not serve it (no CRD).
   * Absent: the backend holds no custom resources.
   */
  listCustomObjects?(resource: CustomResource): Promise<KubeObject[]>;
  /**
   * Runs argv where ovnkube-node runs on that node (OVS and that node's OVN databases reachable
   * by default). A command that fails is data ({exitCode, stderr}); only an unreachable node or
   * a transport failure rejects.
   */
  execOnNode(node: string, argv: readonly string[], options?: NodeExecOptions): Promise<ExecResult>;
  /**
   * What this backend knows is missing or broken for traces on `node`: one sentence per problem, each
   * naming the node, the file or step, and what to collect (a node the backend does not have at all is
   * one such sentence); empty when the node's data is complete. A trace that crossed a node with a
   * non-empty answer cannot be trusted to say delivered or dropped: its verdict is unknown, for these
   * reasons. `used`: what the trace used on that node, to leave out the problems of what it did not;
   * undefined: every problem of the node. Absent: the backend reads a live system, where nothing is
   * missing by construction (an unreachable node or a failed command is an error or an ExecResult).
   */
  incompleteData?(node: string, used?: NodeUse): Promise<readonly string[]>;
  /**
   * ovn-trace in `node`'s zone without a process per trace: an ovn-trace daemon that loaded the zone's SB once
   * for this backend's lifetime answers it, with exactly what the one-shot command prints. Absent: the engine
   * runs `ovn-trace` on the node for each trace (a live cluster, where a daemon would outlive an interrupted
   * run in the node's pod).
   */
  ovnTrace?(node: string, call: OvnTraceCall, options?: NodeExecOptions): Promise<ExecResult>;
  /**
   * The NB and SB of `node`'s zone, when the backend holds them as files (a snapshot): read without a command
   * (a backup through ovsdb-server costs as much again as reading them). Absent: read through execOnNode.
   */
  zoneDatabases?(node: string): Promise<OvnDatabases>;
  close(): Promise<void>;
}
