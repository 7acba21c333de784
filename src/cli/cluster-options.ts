import type { Command } from "commander";
import { DEFAULT_LAB_DIR, type ClusterChoice } from "../app/open-backend.js";

/** Where a command reads the cluster from: a kubeconfig (default), the lab, or an offline snapshot. */
export type ClusterFlags = ClusterChoice;

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

/** The cluster flags alone, as a command takes them. */
export function clusterChoice(f: ClusterFlags): ClusterChoice {
  return {
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(f.context === undefined ? {} : { context: f.context }),
    ...(f.ovnConfigNamespace === undefined ? {} : { ovnConfigNamespace: f.ovnConfigNamespace }),
    ...(f.lab === undefined ? {} : { lab: f.lab }),
    ...(f.snapshot === undefined ? {} : { snapshot: f.snapshot }),
  };
}
