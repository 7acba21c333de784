import type { Command } from "commander";
import type { ClusterBackend } from "../cluster/backend.js";
import { KubeBackend } from "../backends/kube/backend.js";
import { LabBackend } from "../backends/lab/backend.js";
import { InputError } from "../errors.js";
import { DEFAULT_LAB_DIR } from "../lab/lab.js";

/** Where a command reads the cluster from: a kubeconfig (default), the lab, or an offline snapshot. */
export interface ClusterFlags {
  kubeconfig?: string;
  context?: string;
  ovnConfigNamespace?: string;
  lab?: string | boolean;
  snapshot?: string;
}

export function addClusterOptions(c: Command): Command {
  return c
    .option("--kubeconfig <FILE>", "kubeconfig (default $KUBECONFIG, then ~/.kube/config)")
    .option("--context <NAME>", "kubeconfig context")
    .option(
      "--ovn-config-namespace <NS>",
      "namespace of the ovnkube-node pods (default: found by label app=ovnkube-node)",
    )
    .option("--lab [DIR]", `use the built-in lab instead of a cluster (default dir ${DEFAULT_LAB_DIR})`)
    .option(
      "--snapshot <DIR>",
      "use an offline snapshot (its replica is started for the run unless `snapshot start` left one running)",
    );
}

export const labDirOf = (lab: string | true): string =>
  typeof lab === "string" ? lab : (process.env.OVNKUBE_TRACE_LAB_DIR ?? DEFAULT_LAB_DIR);

/** The backend the flags name; `timeoutMs` bounds every API call and exec of a live cluster. */
export async function openBackend(f: ClusterFlags, timeoutMs?: number): Promise<ClusterBackend> {
  const lab = f.lab !== undefined && f.lab !== false;
  if (lab && f.snapshot !== undefined) throw new InputError("give --lab or --snapshot, not both");
  if (f.snapshot !== undefined) {
    // loaded on demand: the snapshot machinery is not needed by live traces
    const { SnapshotBackend } = await import("../backends/snapshot/backend.js");
    return SnapshotBackend.open(f.snapshot);
  }
  if (lab) return LabBackend.open(labDirOf(f.lab as string | true));
  return new KubeBackend({
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(f.context === undefined ? {} : { context: f.context }),
    ...(f.ovnConfigNamespace === undefined ? {} : { ovnNamespace: f.ovnConfigNamespace }),
    ...(timeoutMs === undefined ? {} : { requestTimeoutMs: timeoutMs, execTimeoutMs: timeoutMs }),
  });
}
