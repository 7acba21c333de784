import type { Command } from "commander";
import type { CollectSource } from "../app/snapshot.js";
import { InputError } from "../errors.js";
import { addClusterOptions, clusterChoice, type ClusterFlags } from "./cluster-options.js";
import { duration, outputFormat } from "./formats.js";
import { processIO, type Run } from "./io.js";

interface CollectFlags extends ClusterFlags {
  out: string;
  cluster?: boolean;
  sos?: string[];
  files?: string[];
  node?: string;
  k8s?: string;
  timeout: string;
  output?: string;
}

/** The one source the flags name, or an InputError. */
function collectSource(o: CollectFlags): CollectSource {
  const lab = o.lab !== undefined && o.lab !== false;
  const given = [o.cluster === true, lab, o.sos !== undefined, o.files !== undefined];
  if (given.filter(Boolean).length !== 1)
    throw new InputError(
      "give exactly one source: --cluster, --lab [DIR], --sos ARCHIVE... or --files FILE...",
    );
  if (o.snapshot !== undefined) throw new InputError("--snapshot is not a source for collect");
  if (o.sos !== undefined) return { kind: "sos", archives: o.sos };
  if (o.files !== undefined)
    return { kind: "files", files: o.files, ...(o.node === undefined ? {} : { node: o.node }) };
  return {
    kind: lab ? "lab" : "cluster",
    cluster: clusterChoice(o),
    timeoutMs: duration(o.timeout, "--timeout", 100, 3_600_000),
  };
}

export function registerSnapshotCommands(program: Command, run: Run): void {
  const snapshot = program
    .command("snapshot")
    .description(
      "offline snapshots: collect a cluster's OVS/OVN state, replay it locally (no containers), trace on it",
    );
  const app = () => import("../app/snapshot.js");

  addClusterOptions(
    snapshot
      .command("collect")
      .description("collect a snapshot from a cluster, the lab, sos reports or DB files and flow dumps")
      .requiredOption("--out <DIR>", "the new snapshot directory")
      .option("--cluster", "collect from the cluster of the kubeconfig (read-only)")
      .option("--sos <ARCHIVE...>", "sos reports (.tar.xz, .tar.gz or extracted directories), one per node")
      .option(
        "--files <FILE...>",
        "OVSDB files (conf.db, NB, SB) and flow/group/tlv-map dumps ([BRIDGE=]FILE)",
      )
      .option("--node <NAME>", "with --files: the node the OVS files belong to")
      .option("--k8s <DIR>", "add Kubernetes objects: kubectl get -o json/yaml outputs or a must-gather tree")
      .option(
        "--timeout <DURATION>",
        "timeout of every API call and exec: 60s, 2m, 500ms (a plain number is milliseconds)",
        "60s",
      )
      .option("-o, --output <FORMAT>", "text | json | yaml (the manifest)", "text"),
  ).action(async (o: CollectFlags) => {
    const source = collectSource(o);
    const output = outputFormat(o.output);
    await run(
      (await app()).collectCommand(
        { out: o.out, source, ...(o.k8s === undefined ? {} : { k8s: o.k8s }), output },
        processIO(),
      ),
    );
  });

  snapshot
    .command("start")
    .argument("<DIR>", "snapshot directory")
    .description(
      "start the snapshot's local replica (ovsdb-servers, dummy-datapath ovs-vswitchds, flows restored)",
    )
    .action(async (dir: string) => {
      await run((await app()).snapshotStartCommand(dir));
    });

  snapshot
    .command("show")
    .argument("<DIR>", "snapshot directory")
    .option("-o, --output <FORMAT>", "text | json | yaml", "text")
    .description("print what the snapshot holds and, if its replica runs, its sockets")
    .action(async (dir: string, o: { output: string }) => {
      const output = outputFormat(o.output);
      await run((await app()).snapshotShowCommand(dir, output));
    });

  snapshot
    .command("stop")
    .argument("<DIR>", "snapshot directory")
    .description("stop the snapshot's replica (by pid) and remove its run directory")
    .action(async (dir: string) => {
      await run((await app()).snapshotStopCommand(dir));
    });
}
