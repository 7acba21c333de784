import type {
  EndpointSliceObject,
  NamespaceObject,
  NetworkPolicyObject,
  NodeObject,
  PodObject,
  ServiceObject,
} from "./kube-objects.js";
import { NotFoundError, type ListOptions } from "./backend.js";
import { fieldSelector, labelSelector, type KubeObjectLike } from "./selectors.js";

/** Kubernetes objects held in memory (a lab's kubernetes.json, a snapshot's kubectl dumps), queried like the API. */
export class ObjectStore {
  private readonly byKind = new Map<string, KubeObjectLike[]>();

  constructor(items: readonly unknown[]) {
    for (const item of items) {
      const o = item as KubeObjectLike & { kind?: string };
      if (typeof o.kind !== "string") continue;
      const list = this.byKind.get(o.kind) ?? [];
      list.push(o);
      this.byKind.set(o.kind, list);
    }
  }

  private list(kind: string, namespace: string | undefined, options: ListOptions = {}): KubeObjectLike[] {
    const byLabel = labelSelector(options.labelSelector);
    const byField = fieldSelector(options.fieldSelector);
    return (this.byKind.get(kind) ?? []).filter(
      (o) =>
        (namespace === undefined || o.metadata?.namespace === namespace) &&
        byLabel(o.metadata?.labels) &&
        byField(o),
    );
  }

  private read(kind: string, resource: string, namespace: string | undefined, name: string): KubeObjectLike {
    const hit = (this.byKind.get(kind) ?? []).find(
      (o) => o.metadata?.name === name && (namespace === undefined || o.metadata.namespace === namespace),
    );
    if (hit === undefined) {
      throw new NotFoundError(
        `${resource} "${name}" not found${namespace === undefined ? "" : ` in namespace "${namespace}"`}`,
      );
    }
    return hit;
  }

  // The objects are what the API server would serve for these kinds; the casts only name them.
  readPod = (ns: string, name: string): PodObject => this.read("Pod", "pod", ns, name) as PodObject;
  listPods = (ns: string | undefined, o?: ListOptions): PodObject[] => this.list("Pod", ns, o) as PodObject[];
  readNode = (name: string): NodeObject => this.read("Node", "node", undefined, name) as NodeObject;
  listNodes = (o?: ListOptions): NodeObject[] => this.list("Node", undefined, o) as NodeObject[];
  readNamespace = (name: string): NamespaceObject => this.read("Namespace", "namespace", undefined, name);
  readService = (ns: string, name: string): ServiceObject =>
    this.read("Service", "service", ns, name) as ServiceObject;
  listEndpointSlices = (ns: string, o?: ListOptions): EndpointSliceObject[] =>
    this.list("EndpointSlice", ns, o);
  listNetworkPolicies = (ns: string | undefined): NetworkPolicyObject[] => this.list("NetworkPolicy", ns);
}
