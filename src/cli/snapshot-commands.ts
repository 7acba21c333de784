import { writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Command } from "commander";
import { InputError } from "../errors.js";
import { collectFromBackend, type CollectProgress } from "../snapshot/collect.js";
import type { SnapshotManifest } from "../snapshot/format.js";
import { readSnapshot } from "../snapshot/read.js";
import {
  readReplica,
  replicaNodeEnv,
  replicaRunning,
  startReplica,
  stopReplica,
  type ReplicaState,
} from "../snapshot/replica.js";
import { addClusterOptions, openBackend, type ClusterFlags } from "./cluster-options.js";
import { number } from "./packet-flags.js";

const out = (s: string): void => {
  process.stdout.write(`${s}\n`);
};

/** Per-node progress lines on a terminal, nothing on a pipe. */
function collectProgress(enabled = process.stderr.isTTY): CollectProgress {
  const t0 = performance.now();
  const ms = (): string => `${String(Math.round(performance.now() - t0))} ms`;
  return {
    step: (text) => {
      if (enabled) process.stderr.write(`  … ${text} (${ms()})\n`);
    },
    node: (name, status, done, total) => {
      if (enabled)
        process.stderr.write(
          `  ${status === "failed" ? "\u2717" : "\u2713"} node ${name}: ${status} [${String(done)}/${String(total)}] (${ms()})\n`,
        );
    },
  };
}

function manifestText(dir: string, m: SnapshotManifest, damaged: readonly string[]): string {
  const lines = [
    `snapshot ${dir}: ${m.shape}, from ${m.source.kind} (${m.source.description}), ${m.createdAt}`,
    `  kubernetes objects: ${m.kubernetes === undefined ? "none (names come from the OVN databases)" : `${String(m.kubernetes.objects)} (${m.kubernetes.source})`}`,
    ...m.zones.map(
      (z) =>
        `  zone ${z.name}: ${[z.nb === undefined ? undefined : "NB", z.sb === undefined ? undefined : "SB"].filter((x) => x !== undefined).join(" + ") || "no databases"}${z.missing.length > 0 ? `, missing ${z.missing.join(", ")}` : ""}`,
    ),
    ...m.nodes.map(
      (n) =>
        `  node ${n.name} (zone ${n.zone}): ${n.status}, bridges ${n.bridges.map((b) => b.name).join(", ") || "none"}${n.ovsVersion === undefined ? "" : `, OVS ${n.ovsVersion}`}${n.ovnVersion === undefined ? "" : `, OVN ${n.ovnVersion}`}${n.missing.length > 0 ? `; missing ${n.missing.join(", ")}` : ""}`,
    ),
    ...m.problems.map((p) => `  problem: ${p}`),
    ...damaged.map((f) => `  damaged: ${f} (checksum differs from the manifest)`),
  ];
  return lines.join("\n");
}

const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;

/** A script to source for running ovs-*, ovn-* by hand on one node of the replica. */
function activateScript(s: ReplicaState): string {
  const cases = s.nodes.map((n) => {
    const env = replicaNodeEnv(s, n.name);
    const vars = Object.keys(env)
      .filter((k) => /^(OVS|OVN)_/.test(k))
      .sort()
      .map((k) => `export ${k}=${quote(env[k] ?? "")}`);
    return `  ${quote(n.name)}) ${vars.join("; ")} ;;`;
  });
  return [
    "# source this file with a node name: . activate NODE; then ovs-vsctl show, ovs-appctl ofproto/trace br-int ..., ovn-nbctl show, ovn-trace ...",
    'case "${1:-}" in',
    ...cases,
    `  *) echo "usage: . ${join(s.dir, "activate")} NODE (one of: ${s.nodes.map((n) => n.name).join(" ")})" >&2 ;;`,
    "esac",
    "",
  ].join("\n");
}

function replicaText(s: ReplicaState): string {
  const lines = [
    `replica of ${s.snapshot} in ${s.dir}${s.startMs === undefined ? "" : ` (started in ${String(s.startMs)} ms)`}`,
  ];
  for (const z of s.zones)
    lines.push(
      `  zone ${z.name}: NB ${z.dbs.nb ?? "-"}  SB ${z.dbs.sb ?? "-"}${z.problems.map((p) => `\n    problem: ${p}`).join("")}`,
    );
  for (const n of s.nodes)
    lines.push(
      `  node ${n.name}: ${n.ovs ? `OVS at ${join(n.dir, "db.sock")}` : "no OVS"}${n.problems.map((p) => `\n    problem: ${p}`).join("")}`,
    );
  lines.push(`  by hand: . ${join(s.dir, "activate")} NODE`);
  return lines.join("\n");
}

interface CollectFlags extends ClusterFlags {
  out?: string;
  cluster?: boolean;
  sos?: string[];
  files?: string[];
  node?: string;
  k8s?: string;
  timeout: string;
  output?: string;
}

export function registerSnapshotCommands(program: Command): void {
  const snapshot = program
    .command("snapshot")
    .description(
      "offline snapshots: collect a cluster's OVS/OVN state, replay it locally (no containers), trace on it",
    );

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
      .option("--timeout <MS>", "timeout of every API call and exec, in milliseconds", "60000")
      .option("-o, --output <FORMAT>", "text | json (the manifest)", "text"),
  ).action(async (o: CollectFlags) => {
    const out_ = o.out ?? "";
    const lab = o.lab !== undefined && o.lab !== false;
    const sources = [o.cluster === true, lab, o.sos !== undefined, o.files !== undefined].filter(
      Boolean,
    ).length;
    if (sources !== 1)
      throw new InputError(
        "give exactly one source: --cluster, --lab [DIR], --sos ARCHIVE... or --files FILE...",
      );
    if (o.snapshot !== undefined) throw new InputError("--snapshot is not a source for collect");
    const t0 = performance.now();
    let m: SnapshotManifest;
    if (o.sos !== undefined) {
      const { collectFromSos } = await import("../snapshot/sos.js");
      const progress = collectProgress();
      m = await collectFromSos(o.sos, out_, {
        progress: (s: string) => {
          progress.step(s);
        },
      });
    } else if (o.files !== undefined) {
      const { collectFromFiles } = await import("../snapshot/files.js");
      m = await collectFromFiles(o.files, out_, { ...(o.node === undefined ? {} : { node: o.node }) });
    } else {
      const b = await openBackend(o, number(o.timeout, "--timeout", 100, 3_600_000));
      try {
        m = await collectFromBackend(b, {
          out: out_,
          source: { kind: lab ? "lab" : "cluster", description: b.description },
          progress: collectProgress(),
        });
      } finally {
        await b.close();
      }
    }
    if (o.k8s !== undefined) {
      const { addKubernetesDir } = await import("../snapshot/add-kubernetes.js");
      m = addKubernetesDir(out_, o.k8s);
    }
    const ms = Math.round(performance.now() - t0);
    if (o.output === "json") out(JSON.stringify(m, null, 2));
    else
      out(
        `${manifestText(out_, m, [])}\ncollected in ${String(ms)} ms; trace on it: ovnkube-trace --snapshot ${out_} -src ... -dst ...`,
      );
  });

  snapshot
    .command("start")
    .argument("<DIR>", "snapshot directory")
    .description(
      "start the snapshot's local replica (ovsdb-servers, dummy-datapath ovs-vswitchds, flows restored)",
    )
    .action(async (dir: string) => {
      const s = await startReplica(dir);
      out(replicaText(s));
      writeFileSync(join(s.dir, "activate"), activateScript(s));
    });

  snapshot
    .command("show")
    .argument("<DIR>", "snapshot directory")
    .option("-o, --output <FORMAT>", "text | json", "text")
    .description("print what the snapshot holds and, if its replica runs, its sockets")
    .action((dir: string, o: { output: string }) => {
      const snap = readSnapshot(dir);
      const r = readReplica(dir);
      const running = r !== undefined && replicaRunning(r) ? r : undefined;
      if (o.output === "json") {
        out(
          JSON.stringify(
            { manifest: snap.manifest, damaged: snap.damaged, replica: running ?? null },
            null,
            2,
          ),
        );
        return;
      }
      out(manifestText(dir, snap.manifest, snap.damaged));
      out(
        running === undefined
          ? "replica: not running (ovnkube-trace snapshot start DIR)"
          : replicaText(running),
      );
    });

  snapshot
    .command("stop")
    .argument("<DIR>", "snapshot directory")
    .description("stop the snapshot's replica (by pid) and remove its run directory")
    .action(async (dir: string) => {
      const n = await stopReplica(dir);
      out(`stopped ${String(n)} daemons`);
    });
}
