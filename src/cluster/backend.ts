import type {
  EndpointSliceObject,
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
}

/** One line naming a failed command, for error messages. */
export function describeFailure(r: ExecResult): string {
  const full = r.argv.join(" ");
  const cmd = full.length > 160 ? `${full.slice(0, 160)} …` : full;
  if (r.timedOut) return `${cmd}: timed out after ${r.durationMs} ms`;
  const why = r.stderr.trim() || r.stdout.trim() || "no output";
  return `${cmd}: exit ${r.exitCode}: ${why.split("\n").slice(-3).join(" | ")}`;
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
   * Runs argv where ovnkube-node runs on that node (OVS and that node's OVN databases reachable
   * by default). A command that fails is data ({exitCode, stderr}); only an unreachable node or
   * a transport failure rejects.
   */
  execOnNode(node: string, argv: readonly string[], options?: NodeExecOptions): Promise<ExecResult>;
  close(): Promise<void>;
}
