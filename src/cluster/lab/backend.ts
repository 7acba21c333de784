import { readFileSync } from "node:fs";
import { LabStateError } from "../../errors.js";
import { deadDaemons, readLabState, runOnNode, type LabState } from "../../lab/lab.js";
import { labLayout } from "../../lab/layout.js";
import { DEFAULT_TIMEOUT_MS, type ExecResult } from "../../ovs/exec.js";
import {
  ClusterUnreachableError,
  type ClusterBackend,
  type ListOptions,
  type NodeExecOptions,
} from "../backend.js";
import { ObjectStore } from "../object-store.js";

/** Runs a synchronous lookup so that its error rejects the promise, as an API call would. */
const answer = <T>(f: () => T): Promise<T> => Promise.resolve().then(f);

/** The built-in lab as a cluster: its Kubernetes objects from kubernetes.json, execs in its node environments. */
export class LabBackend implements ClusterBackend {
  readonly kind = "lab";
  readonly description: string;
  private readonly store: ObjectStore;

  constructor(readonly state: LabState) {
    this.description = `lab "${state.cluster.name}" (${state.cluster.shape}) in ${state.dir}`;
    const list = JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
      items: unknown[];
    };
    this.store = new ObjectStore(list.items);
  }

  /** The running lab in `dir`, or an error that says how to start one. */
  static open(dir: string): LabBackend {
    const s = readLabState(dir);
    if (s?.phase !== "up")
      throw new LabStateError(`no lab is running in ${dir}`, {
        hint: "start one with: ovnkube-trace lab up",
      });
    const dead = deadDaemons(s);
    if (dead.length > 0) {
      throw new LabStateError(
        `the lab in ${dir} is broken: ${dead.map((d) => `${d.owner}/${d.program}`).join(", ")} not running`,
        {
          hint: "restart it: ovnkube-trace lab down && ovnkube-trace lab up",
        },
      );
    }
    return new LabBackend(s);
  }

  readPod = (ns: string, name: string) => answer(() => this.store.readPod(ns, name));
  listPods = (ns: string | undefined, o?: ListOptions) => answer(() => this.store.listPods(ns, o));
  readNode = (name: string) => answer(() => this.store.readNode(name));
  listNodes = (o?: ListOptions) => answer(() => this.store.listNodes(o));
  readNamespace = (name: string) => answer(() => this.store.readNamespace(name));
  listNamespaces = () => answer(() => this.store.listNamespaces());
  readService = (ns: string, name: string) => answer(() => this.store.readService(ns, name));
  listServices = (ns: string | undefined) => answer(() => this.store.listServices(ns));
  listEndpointSlices = (ns: string | undefined, o?: ListOptions) =>
    answer(() => this.store.listEndpointSlices(ns, o));
  listNetworkPolicies = (ns: string | undefined) => answer(() => this.store.listNetworkPolicies(ns));

  async execOnNode(
    node: string,
    argv: readonly string[],
    options: NodeExecOptions = {},
  ): Promise<ExecResult> {
    if (!this.state.cluster.nodes.some((n) => n.name === node))
      throw new ClusterUnreachableError(`lab has no node "${node}"`);
    return runOnNode(this.state, node, argv, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.stdin);
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
