import { createHash } from "node:crypto";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { snapshotPaths, type SnapshotManifest } from "./format.js";
import { readKubernetesDir } from "./kubernetes-files.js";
import { readSnapshot } from "./read.js";

/** Adds (or replaces) a snapshot's Kubernetes objects from kubectl dumps or a must-gather tree. */
export function addKubernetesDir(snapshot: string, k8sDir: string): SnapshotManifest {
  const snap = readSnapshot(snapshot);
  const r = readKubernetesDir(k8sDir);
  const data = JSON.stringify({ apiVersion: "v1", kind: "List", items: r.items });
  const file = snapshotPaths.kubernetes;
  writeFileSync(join(snapshot, file), data);
  const m: SnapshotManifest = {
    ...snap.manifest,
    kubernetes: { file, source: r.source, objects: r.items.length },
    files: {
      ...snap.manifest.files,
      [file]: { bytes: Buffer.byteLength(data), sha256: createHash("sha256").update(data).digest("hex") },
    },
    problems: [...snap.manifest.problems, ...r.problems.map((p) => `--k8s ${k8sDir}: ${p}`)],
  };
  writeFileSync(join(snapshot, snapshotPaths.manifest), JSON.stringify(m, null, 2) + "\n");
  return m;
}
