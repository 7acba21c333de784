import { existsSync } from "node:fs";
import { homedir } from "node:os";
import { delimiter, join } from "node:path";
import { Writable } from "node:stream";
import { Readable } from "node:stream";
import {
  ApiException,
  CoreV1Api,
  CustomObjectsApi,
  DiscoveryV1Api,
  Exec,
  KubeConfig,
  NetworkingV1Api,
  type V1Status,
} from "@kubernetes/client-node";
import { InputError } from "../../errors.js";
import type { ClusterBackend, CustomResource, ListOptions, NodeExecOptions } from "../../cluster/backend.js";
import type {
  EndpointSliceObject,
  KubeObject,
  NamespaceObject,
  NetworkPolicyObject,
  NodeObject,
  PodObject,
  ServiceObject,
} from "../../cluster/kube-objects.js";
import type { ExecResult } from "../../cluster/backend.js";
import { ClusterUnreachableError, ForbiddenError, NotFoundError } from "../../errors.js";

export interface KubeBackendOptions {
  /** Path of a kubeconfig; default $KUBECONFIG, then ~/.kube/config, then in-cluster. */
  readonly kubeconfig?: string;
  readonly context?: string;
  /** Namespace of the ovnkube-node pods; default: found by label app=ovnkube-node. */
  readonly ovnNamespace?: string;
  readonly requestTimeoutMs?: number;
  readonly execTimeoutMs?: number;
}

/** The containers of an ovnkube-node pod that run OVS/OVN commands, in order of preference. */
const OVN_CONTAINERS = ["ovnkube-controller", "ovnkube-node", "ovn-controller"];

/** Where a pod's service account token is: with it, the client talks to the cluster it runs in. */
const IN_CLUSTER_TOKEN = "/var/run/secrets/kubernetes.io/serviceaccount/token";

/**
 * Whether the client would find a configuration by itself: a file of $KUBECONFIG, ~/.kube/config, or a
 * service account (in a pod). Without one, client-node falls back to http://localhost:8080, and every
 * call fails with a message about that address that says nothing of the missing kubeconfig.
 */
function defaultConfigExists(env: NodeJS.ProcessEnv = process.env): boolean {
  const files = (env.KUBECONFIG ?? "").split(delimiter).filter((f) => f !== "");
  if (files.length > 0) return files.some((f) => existsSync(f));
  const home = env.HOME ?? homedir();
  return (home !== "" && existsSync(join(home, ".kube", "config"))) || existsSync(IN_CLUSTER_TOKEN);
}

function loadKubeConfig(o: KubeBackendOptions): KubeConfig {
  if (o.kubeconfig === undefined && !defaultConfigExists())
    throw new ClusterUnreachableError(
      "no kubeconfig found (looked at $KUBECONFIG, ~/.kube/config); pass --kubeconfig, or --lab",
    );
  const kc = new KubeConfig();
  try {
    if (o.kubeconfig !== undefined) kc.loadFromFile(o.kubeconfig);
    else kc.loadFromDefault();
  } catch (e) {
    throw new InputError(
      `cannot load the kubeconfig${o.kubeconfig === undefined ? "" : ` ${o.kubeconfig}`}`,
      {
        cause: e,
        hint: "pass -kubeconfig FILE or set $KUBECONFIG",
      },
    );
  }
  if (o.context !== undefined) {
    const names = kc.getContexts().map((c) => c.name);
    if (!names.includes(o.context)) {
      throw new InputError(`context "${o.context}" is not in the kubeconfig`, {
        hint: `contexts: ${names.join(", ") || "none"}`,
      });
    }
    kc.setCurrentContext(o.context);
  }
  if (kc.getCurrentCluster() === null) {
    throw new InputError("the kubeconfig names no cluster", {
      hint: "pass -kubeconfig FILE or --context NAME",
    });
  }
  return kc;
}

/** A live cluster through @kubernetes/client-node: reads are cached for the run, every call has a timeout. */
export class KubeBackend implements ClusterBackend {
  readonly kind = "kube";
  readonly description: string;
  /** The namespace of the context in use (`--context`, else the current one), "default" if it names none. */
  readonly namespace: string;
  private readonly kc: KubeConfig;
  private readonly core: CoreV1Api;
  private readonly discovery: DiscoveryV1Api;
  private readonly networking: NetworkingV1Api;
  private readonly custom: CustomObjectsApi;
  private readonly exec: Exec;
  private readonly cache = new Map<string, Promise<unknown>>();
  private readonly requestTimeoutMs: number;
  private readonly execTimeoutMs: number;
  private readonly server: string;

  constructor(private readonly options: KubeBackendOptions = {}) {
    this.kc = loadKubeConfig(options);
    this.server = this.kc.getCurrentCluster()?.server ?? "?";
    this.description = `context "${this.kc.getCurrentContext()}" (${this.server})`;
    const namespace = this.kc.getContextObject(this.kc.getCurrentContext())?.namespace;
    this.namespace = namespace === undefined || namespace === "" ? "default" : namespace;
    this.core = this.kc.makeApiClient(CoreV1Api);
    this.discovery = this.kc.makeApiClient(DiscoveryV1Api);
    this.networking = this.kc.makeApiClient(NetworkingV1Api);
    this.custom = this.kc.makeApiClient(CustomObjectsApi);
    this.exec = new Exec(this.kc);
    this.requestTimeoutMs = options.requestTimeoutMs ?? 15_000;
    this.execTimeoutMs = options.execTimeoutMs ?? 30_000;
  }

  /** One API call: cached by key, bounded in time, its errors mapped to ours. */
  private call<T>(key: string, what: string, f: () => Promise<T>): Promise<T> {
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit as Promise<T>;
    const p = this.withTimeout(f(), this.requestTimeoutMs, `${what} (API server ${this.server})`).catch(
      (e: unknown) => {
        throw this.mapError(e, what);
      },
    );
    this.cache.set(key, p);
    p.catch(() => this.cache.delete(key));
    return p;
  }

  private withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        reject(new ClusterUnreachableError(`${what} timed out after ${ms} ms`));
      }, ms);
    });
    return Promise.race([p, timeout]).finally(() => {
      clearTimeout(timer);
    });
  }

  private mapError(e: unknown, what: string): Error {
    if (e instanceof ClusterUnreachableError) return e;
    if (e instanceof ApiException) {
      const code = (e as ApiException<unknown>).code;
      const body = (e as ApiException<unknown>).body;
      const message =
        typeof body === "object" && body !== null && "message" in body ? String(body.message) : what;
      if (code === 404) return new NotFoundError(message);
      if (code === 403)
        return new ForbiddenError(`forbidden: ${message}`, {
          hint: "the tool needs get/list on pods, services, endpointslices, nodes, namespaces, networkpolicies and create on pods/exec",
        });
      if (code === 401)
        return new ClusterUnreachableError(`the API server ${this.server} rejected the credentials`, {
          hint: "check the kubeconfig's user",
        });
      return new ClusterUnreachableError(`${what}: HTTP ${code}: ${message}`);
    }
    // client-node rejects a refused exec upgrade with a ws ErrorEvent, not an Error.
    const msg =
      e instanceof Error
        ? `${e.message}${e.cause instanceof Error ? `: ${e.cause.message}` : ""}`
        : typeof e === "object" && e !== null && "message" in e
          ? String(e.message)
          : String(e);
    return new ClusterUnreachableError(
      `cannot reach the Kubernetes API server ${this.server} (${what}): ${msg}`,
      {
        hint: "check the kubeconfig, --context and that the API server is reachable",
      },
    );
  }

  /** A list call (through `call`): of one namespace, or of all of them when none is given. */
  private async list<T>(
    key: string,
    what: string,
    namespace: string | undefined,
    inAll: () => Promise<{ items: T[] }>,
    inNamespace: (namespace: string) => Promise<{ items: T[] }>,
  ): Promise<T[]> {
    const list = await this.call(key, what, () =>
      namespace === undefined ? inAll() : inNamespace(namespace),
    );
    return list.items;
  }

  readPod(namespace: string, name: string): Promise<PodObject> {
    return this.call(`pod/${namespace}/${name}`, `get pod ${namespace}/${name}`, () =>
      this.core.readNamespacedPod({ namespace, name }),
    );
  }

  listPods(namespace: string | undefined, o: ListOptions = {}): Promise<PodObject[]> {
    return this.list(
      `pods/${namespace ?? "*"}/${o.labelSelector ?? ""}/${o.fieldSelector ?? ""}`,
      `list pods${namespace === undefined ? "" : ` in ${namespace}`}`,
      namespace,
      () => this.core.listPodForAllNamespaces({ ...o }),
      (ns) => this.core.listNamespacedPod({ namespace: ns, ...o }),
    );
  }

  readNode(name: string): Promise<NodeObject> {
    return this.call(`node/${name}`, `get node ${name}`, () => this.core.readNode({ name }));
  }

  async listNodes(o: ListOptions = {}): Promise<NodeObject[]> {
    const list = await this.call(
      `nodes/${o.labelSelector ?? ""}/${o.fieldSelector ?? ""}`,
      "list nodes",
      () => this.core.listNode({ ...o }),
    );
    return list.items;
  }

  readNamespace(name: string): Promise<NamespaceObject> {
    return this.call(`ns/${name}`, `get namespace ${name}`, () => this.core.readNamespace({ name }));
  }

  readService(namespace: string, name: string): Promise<ServiceObject> {
    return this.call(`svc/${namespace}/${name}`, `get service ${namespace}/${name}`, () =>
      this.core.readNamespacedService({ namespace, name }),
    );
  }

  async listNamespaces(): Promise<NamespaceObject[]> {
    const list = await this.call("namespaces", "list namespaces", () => this.core.listNamespace());
    return list.items;
  }

  listServices(namespace: string | undefined): Promise<ServiceObject[]> {
    return this.list(
      `svcs/${namespace ?? "*"}`,
      "list services",
      namespace,
      () => this.core.listServiceForAllNamespaces(),
      (ns) => this.core.listNamespacedService({ namespace: ns }),
    );
  }

  listEndpointSlices(namespace: string | undefined, o: ListOptions = {}): Promise<EndpointSliceObject[]> {
    return this.list(
      `eps/${namespace ?? "*"}/${o.labelSelector ?? ""}`,
      `list endpointslices${namespace === undefined ? "" : ` in ${namespace}`}`,
      namespace,
      () => this.discovery.listEndpointSliceForAllNamespaces({ ...o }),
      (ns) => this.discovery.listNamespacedEndpointSlice({ namespace: ns, ...o }),
    );
  }

  listNetworkPolicies(namespace: string | undefined): Promise<NetworkPolicyObject[]> {
    return this.list(
      `netpol/${namespace ?? "*"}`,
      "list networkpolicies",
      namespace,
      () => this.networking.listNetworkPolicyForAllNamespaces(),
      (ns) => this.networking.listNamespacedNetworkPolicy({ namespace: ns }),
    );
  }

  async listCustomObjects(r: CustomResource): Promise<KubeObject[]> {
    const { group, version, plural } = r;
    try {
      const list = (await this.call(`custom/${plural}.${group}`, `list ${plural}.${group}`, () =>
        r.namespaced
          ? this.custom.listCustomObjectForAllNamespaces({ group, version, plural })
          : this.custom.listClusterCustomObject({ group, version, plural }),
      )) as { items?: KubeObject[] };
      return list.items ?? [];
    } catch (e) {
      // the cluster does not serve the resource: its CRD is not installed
      if (e instanceof NotFoundError) return [];
      throw e;
    }
  }

  /** Namespace of the ovnkube-node pods (the flag, or the first pod labelled app=ovnkube-node). */
  async ovnNamespace(): Promise<string> {
    if (this.options.ovnNamespace !== undefined) return this.options.ovnNamespace;
    const pods = await this.listPods(undefined, { labelSelector: "app=ovnkube-node" });
    const ns = pods[0]?.metadata?.namespace;
    if (ns === undefined) {
      throw new NotFoundError("no ovnkube-node pod (label app=ovnkube-node) in any namespace", {
        hint: "is this an OVN-Kubernetes cluster? pass -ovn-config-namespace if its pods are labelled differently",
      });
    }
    return ns;
  }

  /** The ovnkube-node pod and container on a node. */
  async ovnkubePod(node: string): Promise<{ namespace: string; pod: string; container: string }> {
    const namespace = await this.ovnNamespace();
    const pods = await this.listPods(namespace, {
      labelSelector: "app=ovnkube-node",
      fieldSelector: `spec.nodeName=${node}`,
    });
    const pod = pods[0];
    const name = pod?.metadata?.name;
    if (pod === undefined || name === undefined) {
      throw new NotFoundError(`no ovnkube-node pod on node ${node} in namespace ${namespace}`);
    }
    const containers = (pod.spec?.containers ?? []).map((c) => c.name);
    const container = OVN_CONTAINERS.find((c) => containers.includes(c)) ?? containers[0];
    if (container === undefined) throw new NotFoundError(`pod ${namespace}/${name} has no containers`);
    return { namespace, pod: name, container };
  }

  async execOnNode(
    node: string,
    argv: readonly string[],
    options: NodeExecOptions = {},
  ): Promise<ExecResult> {
    const target = await this.ovnkubePod(node);
    const timeoutMs = options.timeoutMs ?? this.execTimeoutMs;
    const started = performance.now();
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    const sink = (into: Buffer[]): Writable =>
      new Writable({
        write(chunk: Buffer, _enc, cb) {
          into.push(chunk);
          cb();
        },
      });
    // Written by callbacks: an object, so the compiler does not narrow it to its initial value.
    const state: { status?: V1Status; timedOut: boolean } = { timedOut: false };
    const finished = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        state.timedOut = true;
        socket?.close();
        resolve();
      }, timeoutMs);
      let socket: { close(): void } | undefined;
      this.exec
        .exec(
          target.namespace,
          target.pod,
          target.container,
          [...argv],
          sink(out),
          sink(err),
          options.stdin === undefined ? null : Readable.from([options.stdin]),
          false,
          (s) => {
            state.status = s;
          },
        )
        .then((ws) => {
          socket = ws;
          ws.on("close", () => {
            clearTimeout(timer);
            resolve();
          });
        })
        .catch((e: unknown) => {
          clearTimeout(timer);
          reject(this.mapError(e, `exec in ${target.namespace}/${target.pod} on node ${node}`));
        });
    });
    await finished;
    return {
      argv,
      exitCode: state.timedOut ? 124 : exitCodeOf(state.status),
      stdout: Buffer.concat(out).toString("utf8"),
      stderr:
        Buffer.concat(err).toString("utf8") +
        (state.status?.status === "Failure" && exitCodeOf(state.status) === 1
          ? (state.status.message ?? "")
          : ""),
      timedOut: state.timedOut,
      durationMs: Math.round(performance.now() - started),
    };
  }

  close(): Promise<void> {
    this.cache.clear();
    return Promise.resolve();
  }
}

/** The kubelet's exec status: Success, or Failure with an ExitCode cause. */
function exitCodeOf(s: V1Status | undefined): number {
  if (s === undefined) return 1;
  if (s.status === "Success") return 0;
  const cause = s.details?.causes?.find((c) => c.reason === "ExitCode");
  const n = Number(cause?.message);
  return Number.isInteger(n) && n > 0 ? n : 1;
}
