import { readFileSync } from "node:fs";
import { LabStateError } from "../../errors.js";
import {
  deadDaemons,
  nodeEnv,
  readLabState,
  renewLabTunnelNeighbours,
  runOnNode,
  type LabState,
} from "../../lab/lab.js";
import { OvnTraceDaemons, runRoot, type DaemonPolicy } from "../../ovs/ovn-trace-daemons.js";
import { labLayout } from "../../lab/layout.js";
import { DEFAULT_TIMEOUT_MS } from "../../ovs/exec.js";
import type { ClusterBackend, NodeExecOptions, OvnTraceCall } from "../../cluster/backend.js";
import { ObjectStore, StoreBackedObjects } from "../../cluster/object-store.js";
import type { ExecResult } from "../../cluster/backend.js";
import { ClusterUnreachableError } from "../../errors.js";

/** The built-in lab as a cluster: its Kubernetes objects from kubernetes.json, execs in its node environments. */
export class LabBackend extends StoreBackedObjects implements ClusterBackend {
  readonly kind = "lab";
  readonly description: string;

  /** `daemons`: when ovn-trace runs as daemons (see DaemonPolicy). */
  constructor(
    readonly state: LabState,
    daemons: DaemonPolicy = "auto",
  ) {
    const list = JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
      items: unknown[];
    };
    super(new ObjectStore(list.items));
    this.description = `lab "${state.cluster.name}" (${state.cluster.shape}) in ${state.dir}`;
    this.ovnTraces = new OvnTraceDaemons(runRoot(state.dir), daemons);
  }

  /** The running lab in `dir`, or an error that says how to start one. */
  static open(dir: string, daemons: DaemonPolicy = "auto"): LabBackend {
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
    return new LabBackend(s, daemons);
  }

  async execOnNode(
    node: string,
    argv: readonly string[],
    options: NodeExecOptions = {},
  ): Promise<ExecResult> {
    if (!this.state.cluster.nodes.some((n) => n.name === node))
      throw new ClusterUnreachableError(`lab has no node "${node}"`);
    if (!this.renewed.has(node)) {
      this.renewed.add(node);
      await renewLabTunnelNeighbours(this.state, node);
    }
    return runOnNode(this.state, node, argv, options.timeoutMs ?? DEFAULT_TIMEOUT_MS, options.stdin);
  }

  private readonly ovnTraces: OvnTraceDaemons;
  /** Nodes whose tunnel neighbours this backend renewed: a lab idle for 15 minutes has forgotten them. */
  private readonly renewed = new Set<string>();

  async ovnTrace(node: string, call: OvnTraceCall, options: NodeExecOptions = {}): Promise<ExecResult> {
    const sb = nodeEnv(this.state, node).OVN_SB_DB;
    if (sb === undefined) throw new ClusterUnreachableError(`lab node "${node}" has no SB database`);
    if (!this.ovnTraces.serves(sb)) return this.execOnNode(node, call.oneShot, options);
    return this.ovnTraces.trace(sb, call, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  close(): Promise<void> {
    return this.ovnTraces.close();
  }
}
