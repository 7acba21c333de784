import type {
  EndpointSliceObject,
  KubeObject,
  NamespaceObject,
  NetworkPolicyObject,
  NodeObject,
  PodObject,
  ServiceObject,
} from "./kube-objects.js";
import type { CustomResource, ListOptions } from "./backend.js";
import {
  matchesFieldSelector,
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
} from "./selectors.js";
import { NotFoundError } from "../errors.js";

/** The fields of an object that field selectors can name (an unset one is "", as on a real server). */
function fieldsOf(o: KubeObjectLike): Record<string, string> {
  return {
    "metadata.name": o.metadata?.name ?? "",
    "metadata.namespace": o.metadata?.namespace ?? "",
    "spec.nodeName": (o.spec as { nodeName?: string } | undefined)?.nodeName ?? "",
    "status.phase": (o.status as { phase?: string } | undefined)?.phase ?? "",
  };
}

interface KubeObjectLike {
  readonly metadata?: {
    readonly name?: string;
    readonly namespace?: string;
    readonly labels?: Record<string, string>;
  };
  readonly spec?: unknown;
  readonly status?: unknown;
}

/**
 * Where a store reads objects that are not all in memory: `objects` gives every object of a kind in a namespace
 * (in any namespace when undefined) in their order, and may give others of the kind too.
 */
export interface ObjectSource {
  objects(kind: string, namespace: string | undefined): readonly unknown[];
}

/** Kubernetes objects held in memory (a lab's kubernetes.json, a snapshot's kubectl dumps), queried like the API. */
export class ObjectStore {
  private readonly byKind = new Map<string, KubeObjectLike[]>();
  private readonly source: ObjectSource | undefined;

  constructor(items: readonly unknown[] | ObjectSource) {
    if (!Array.isArray(items)) {
      this.source = items as ObjectSource;
      return;
    }
    for (const item of items) {
      const o = item as KubeObjectLike & { kind?: string };
      if (typeof o.kind !== "string") continue;
      const list = this.byKind.get(o.kind) ?? [];
      list.push(o);
      this.byKind.set(o.kind, list);
    }
  }

  private of(kind: string, namespace: string | undefined): readonly KubeObjectLike[] {
    return (
      (this.source?.objects(kind, namespace) as KubeObjectLike[] | undefined) ?? this.byKind.get(kind) ?? []
    );
  }

  private list(kind: string, namespace: string | undefined, options: ListOptions = {}): KubeObjectLike[] {
    const labels = parseLabelSelector(options.labelSelector ?? "");
    const fields = parseFieldSelector(options.fieldSelector ?? "");
    return this.of(kind, namespace).filter(
      (o) =>
        (namespace === undefined || o.metadata?.namespace === namespace) &&
        matchesLabelSelector(labels, o.metadata?.labels) &&
        matchesFieldSelector(fields, fieldsOf(o)),
    );
  }

  private read(kind: string, resource: string, namespace: string | undefined, name: string): KubeObjectLike {
    const hit = this.of(kind, namespace).find(
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
  listNamespaces = (): NamespaceObject[] => this.list("Namespace", undefined);
  readService = (ns: string, name: string): ServiceObject =>
    this.read("Service", "service", ns, name) as ServiceObject;
  listServices = (ns: string | undefined): ServiceObject[] => this.list("Service", ns) as ServiceObject[];
  listEndpointSlices = (ns: string | undefined, o?: ListOptions): EndpointSliceObject[] =>
    this.list("EndpointSlice", ns, o);
  listNetworkPolicies = (ns: string | undefined): NetworkPolicyObject[] => this.list("NetworkPolicy", ns);
  listCustomObjects = (r: CustomResource): KubeObject[] => this.list(r.kind, undefined);
}

/** Runs a synchronous lookup so that its error rejects the promise, as an API call would. */
const answer = <T>(f: () => T): Promise<T> => Promise.resolve().then(f);

/** The Kubernetes half of a backend whose objects are held in memory (the lab, a snapshot). */
export abstract class StoreBackedObjects {
  constructor(private readonly store: ObjectStore) {}
  readPod = (ns: string, name: string): Promise<PodObject> => answer(() => this.store.readPod(ns, name));
  listPods = (ns: string | undefined, o?: ListOptions): Promise<PodObject[]> =>
    answer(() => this.store.listPods(ns, o));
  readNode = (name: string): Promise<NodeObject> => answer(() => this.store.readNode(name));
  listNodes = (o?: ListOptions): Promise<NodeObject[]> => answer(() => this.store.listNodes(o));
  readNamespace = (name: string): Promise<NamespaceObject> => answer(() => this.store.readNamespace(name));
  listNamespaces = (): Promise<NamespaceObject[]> => answer(() => this.store.listNamespaces());
  readService = (ns: string, name: string): Promise<ServiceObject> =>
    answer(() => this.store.readService(ns, name));
  listServices = (ns: string | undefined): Promise<ServiceObject[]> =>
    answer(() => this.store.listServices(ns));
  listEndpointSlices = (ns: string | undefined, o?: ListOptions): Promise<EndpointSliceObject[]> =>
    answer(() => this.store.listEndpointSlices(ns, o));
  listNetworkPolicies = (ns: string | undefined): Promise<NetworkPolicyObject[]> =>
    answer(() => this.store.listNetworkPolicies(ns));
  listCustomObjects = (r: CustomResource): Promise<KubeObject[]> =>
    answer(() => this.store.listCustomObjects(r));
}
