import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { collectFromBackend } from "../snapshot/collect.js";
import type { SnapshotManifest } from "../snapshot/format.js";
import { readSnapshot } from "../snapshot/read.js";
import { buildSnapshotIndex, hasSnapshotIndex } from "../snapshot/snapshot-index.js";
import { objectsOf } from "../backends/snapshot/backend.js";
import {
  readReplica,
  replicaNodeEnv,
  replicaRunning,
  startReplica,
  stopReplica,
} from "../snapshot/replica.js";
import { renderDocument, versioned } from "../render/document.js";
import { activateScript, manifestText, replicaText } from "../render/snapshot-text.js";
import { ok, type CommandIO, type CommandResult, type OutputFormat } from "./command.js";
import { withBackend, type ClusterChoice } from "./open-backend.js";

/** The snapshot commands: collect, start, show, stop. */

/** Where `snapshot collect` reads from: exactly one source. */
export type CollectSource =
  | { readonly kind: "cluster" | "lab"; readonly cluster: ClusterChoice; readonly timeoutMs: number }
  | { readonly kind: "sos"; readonly archives: readonly string[] }
  | { readonly kind: "files"; readonly files: readonly string[]; readonly node?: string };

export interface CollectCommand {
  readonly out: string;
  readonly source: CollectSource;
  /** Kubernetes objects to add: kubectl -o json/yaml outputs or a must-gather tree. */
  readonly k8s?: string;
  readonly output: OutputFormat;
}

function collectFrom(c: CollectCommand, io: CommandIO, t0: number): Promise<SnapshotManifest> {
  const ms = (): string => `${String(Math.round(performance.now() - t0))} ms`;
  const step = (text: string): void => {
    io.progress(`  \u2026 ${text} (${ms()})`);
  };
  const s = c.source;
  switch (s.kind) {
    case "sos":
      return import("../snapshot/sos.js").then(({ collectFromSos }) =>
        collectFromSos(s.archives, c.out, { progress: step }),
      );
    case "files":
      return import("../snapshot/files.js").then(({ collectFromFiles }) =>
        collectFromFiles(s.files, c.out, s.node === undefined ? {} : { node: s.node }),
      );
    case "cluster":
    case "lab":
      return withBackend(s.cluster, s.timeoutMs, (b) =>
        collectFromBackend(b, {
          out: c.out,
          source: { kind: s.kind, description: b.description },
          progress: {
            step,
            node: (name, status, done, total) => {
              io.progress(
                `  ${status === "failed" ? "\u2717" : "\u2713"} node ${name}: ${status} [${String(done)}/${String(total)}] (${ms()})`,
              );
            },
          },
        }),
      );
  }
}

export async function collectCommand(c: CollectCommand, io: CommandIO): Promise<CommandResult> {
  const t0 = performance.now();
  let m = await collectFrom(c, io, t0);
  if (c.k8s !== undefined) {
    const { addKubernetesDir } = await import("../snapshot/add-kubernetes.js");
    m = addKubernetesDir(c.out, c.k8s);
  }
  if (c.output !== "text") return ok(renderDocument(versioned("SnapshotManifest", m), c.output));
  const ms = Math.round(performance.now() - t0);
  return ok(
    `${manifestText(c.out, m, [])}\ncollected in ${String(ms)} ms; trace on it: ovnkube-trace --snapshot ${c.out} -src ... -dst ...`,
  );
}

export async function snapshotStartCommand(dir: string): Promise<CommandResult> {
  // a replica left running serves many runs: zones with a big SB get ovn-trace daemons that load it once
  const s = await startReplica(dir, undefined, { residentOvnTrace: "auto" });
  // and what lets each run read only what it needs of the snapshot
  const unindexed = hasSnapshotIndex(s.dir)
    ? undefined
    : await buildSnapshotIndex(dir, s.dir, s.manifestSha256, objectsOf);
  writeFileSync(
    join(s.dir, "activate"),
    activateScript(s, (node) => replicaNodeEnv(s, node)),
  );
  const note = unindexed === undefined ? "" : `\nno index (each run reads the whole snapshot): ${unindexed}`;
  return ok(`${replicaText(s)}${note}`);
}

export function snapshotShowCommand(dir: string, output: OutputFormat): CommandResult {
  const snap = readSnapshot(dir);
  const r = readReplica(dir);
  const running = r !== undefined && replicaRunning(r) ? r : undefined;
  if (output !== "text")
    return ok(
      renderDocument(
        versioned("SnapshotShow", {
          manifest: snap.manifest,
          damaged: snap.damaged,
          replica: running ?? null,
        }),
        output,
      ),
    );
  return ok(
    `${manifestText(dir, snap.manifest, snap.damaged)}\n${running === undefined ? "replica: not running (ovnkube-trace snapshot start DIR)" : replicaText(running)}`,
  );
}

export async function snapshotStopCommand(dir: string): Promise<CommandResult> {
  return ok(`stopped ${String(await stopReplica(dir))} daemons`);
}
