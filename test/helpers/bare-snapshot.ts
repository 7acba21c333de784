import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { newLabDir } from "./lab.js";

/**
 * A copy of the snapshot at `snap` without its kubernetes.json (and without it in the manifest): what a snapshot
 * of OVN alone is, whose Kubernetes objects are derived from the OVN databases. Returns the copy's directory.
 */
export function bareSnapshot(snap: string): string {
  const bare = join(newLabDir(), "bare");
  cpSync(snap, bare, { recursive: true });
  rmSync(join(bare, "kubernetes.json"));
  const m = JSON.parse(readFileSync(join(snap, "manifest.json"), "utf8")) as {
    files: Record<string, unknown>;
  };
  const files = Object.fromEntries(Object.entries(m.files).filter(([f]) => f !== "kubernetes.json"));
  writeFileSync(join(bare, "manifest.json"), JSON.stringify({ ...m, kubernetes: undefined, files }));
  return bare;
}

/** A snapshot of the lab in `labDir` collected through `lab`, and its copy without kubernetes.json. */
export async function labSnapshots(lab: ClusterBackend, labDir: string): Promise<[string, string]> {
  const snap = join(newLabDir(), "snap");
  await collectFromBackend(lab, { out: snap, source: { kind: "lab", description: labDir } });
  return [snap, bareSnapshot(snap)];
}
