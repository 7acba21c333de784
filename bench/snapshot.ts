import { mkdtempSync, rmSync } from "node:fs";
import { join } from "node:path";
import { LabBackend } from "../src/backends/lab/backend.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp } from "../src/lab/lab.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import { collectFromBackend } from "../src/snapshot/collect.js";
import { startReplica, stopReplica } from "../src/snapshot/replica.js";

export interface SnapshotTimings {
  readonly nodes: number;
  readonly bytes: number;
  readonly collectMs: number[];
  readonly startMs: number[];
  readonly stopMs: number[];
}

/** `snapshot collect --lab` and `snapshot start`/`stop` of the 3-node interconnect lab, `runs` times each. */
export async function benchSnapshot(runs: number): Promise<SnapshotTimings> {
  const root = mkdtempSync("/tmp/otb-snap");
  const lab = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`), join(root, "lab"))).state;
  const t: SnapshotTimings = {
    nodes: lab.cluster.nodes.length,
    bytes: 0,
    collectMs: [],
    startMs: [],
    stopMs: [],
  };
  let bytes = 0;
  try {
    const b = LabBackend.open(lab.dir);
    for (let i = 0; i < runs; i++) {
      const out = join(root, `snap${String(i)}`);
      let t0 = performance.now();
      const m = await collectFromBackend(b, { out, source: { kind: "lab", description: b.description } });
      t.collectMs.push(performance.now() - t0);
      bytes = Object.values(m.files).reduce((a, f) => a + f.bytes, 0);
      t0 = performance.now();
      await startReplica(out);
      t.startMs.push(performance.now() - t0);
      t0 = performance.now();
      await stopReplica(out);
      t.stopMs.push(performance.now() - t0);
    }
  } finally {
    await labDown(lab.dir);
    rmSync(root, { recursive: true, force: true });
  }
  return { ...t, bytes };
}
