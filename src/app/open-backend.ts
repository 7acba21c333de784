import type { ClusterBackend } from "../cluster/backend.js";
import { InputError } from "../errors.js";
import { DEFAULT_LAB_DIR } from "../lab/defaults.js";
import type { DaemonPolicy } from "../ovs/ovn-trace-daemons.js";

/** Where a command reads the cluster from: a kubeconfig (default), the lab, or an offline snapshot. */
export interface ClusterChoice {
  readonly kubeconfig?: string;
  readonly context?: string;
  readonly ovnConfigNamespace?: string;
  /** The lab: its directory, or true for the default one. */
  readonly lab?: string | boolean;
  readonly snapshot?: string;
  /** Where the backend can run ovn-trace as daemons (the lab, a replica): when (default auto). */
  readonly ovnTraceDaemons?: DaemonPolicy;
}

/** The lab directory: the one given, else $OVNKUBE_TRACE_LAB_DIR, else the default. */
export const labDirOf = (dir: string | true | undefined): string =>
  typeof dir === "string" ? dir : (process.env.OVNKUBE_TRACE_LAB_DIR ?? DEFAULT_LAB_DIR);

/** What a command knows of the cluster besides its backend. */
export interface ClusterContext {
  /**
   * The namespace of names given without one (kubectl's rule): the kubeconfig context's (`--context`, else
   * the current one), else "default"; always "default" on the lab and on snapshots.
   */
  readonly defaultNamespace: string;
}

/**
 * The backend the choice names; `timeoutMs` bounds every API call and exec of a live cluster. Each backend
 * is loaded on demand: a lab trace never loads the Kubernetes client, a live one never the snapshot code.
 */
export async function openCluster(
  c: ClusterChoice,
  timeoutMs?: number,
): Promise<{ readonly backend: ClusterBackend; readonly context: ClusterContext }> {
  const lab = c.lab !== undefined && c.lab !== false;
  if (lab && c.snapshot !== undefined) throw new InputError("give --lab or --snapshot, not both");
  const byDefault = { defaultNamespace: "default" };
  if (c.snapshot !== undefined) {
    const { SnapshotBackend } = await import("../backends/snapshot/backend.js");
    return { backend: await SnapshotBackend.open(c.snapshot, c.ovnTraceDaemons), context: byDefault };
  }
  if (lab) {
    const { LabBackend } = await import("../backends/lab/backend.js");
    return { backend: LabBackend.open(labDirOf(c.lab), c.ovnTraceDaemons), context: byDefault };
  }
  const { KubeBackend } = await import("../backends/kube/backend.js");
  const kube = new KubeBackend({
    ...(c.kubeconfig === undefined ? {} : { kubeconfig: c.kubeconfig }),
    ...(c.context === undefined ? {} : { context: c.context }),
    ...(c.ovnConfigNamespace === undefined ? {} : { ovnNamespace: c.ovnConfigNamespace }),
    ...(timeoutMs === undefined ? {} : { requestTimeoutMs: timeoutMs, execTimeoutMs: timeoutMs }),
  });
  return { backend: kube, context: { defaultNamespace: kube.namespace } };
}

/** The backend the choice names (see openCluster). */
export async function openBackend(c: ClusterChoice, timeoutMs?: number): Promise<ClusterBackend> {
  return (await openCluster(c, timeoutMs)).backend;
}

/** Runs `body` on the backend and closes it, whatever happens. */
export async function withBackend<T>(
  c: ClusterChoice,
  timeoutMs: number | undefined,
  body: (b: ClusterBackend, context: ClusterContext) => Promise<T>,
): Promise<T> {
  const { backend, context } = await openCluster(c, timeoutMs);
  try {
    return await body(backend, context);
  } finally {
    await backend.close();
  }
}

/** The defaults the CLI's help shows (a light module: the CLI loads it at start). */
export { DEFAULT_LAB_DIR, DEFAULT_SCENARIO } from "../lab/defaults.js";
