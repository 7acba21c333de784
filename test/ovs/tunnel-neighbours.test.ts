import { rmSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { probe } from "../../src/lab/probe.js";
import type { TraceTarget } from "../../src/model/target.js";
import { run } from "../../src/ovs/exec.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { replicaNodeEnv, startReplica, stopReplica } from "../../src/snapshot/replica.js";
import { probeOf } from "../helpers/fidelity.js";
import { newLabDir } from "../helpers/lab.js";

/**
 * ovs-vswitchd forgets a tunnel neighbour 15 minutes after its last packet; a lab or a replica left idle that long
 * must still trace (and carry real packets) across nodes. Flushing the neighbours stands in for the wait.
 */
const CROSS_NODE: TraceTarget = {
  src: { kind: "pod", namespace: "default", name: "client" },
  dst: { kind: "pod", namespace: "default", name: "web" },
  protocol: "tcp",
  dstPort: 8080,
};

const MAC = /[0-9a-f]{2}(:[0-9a-f]{2}){5}/;

async function forwardVerdict(b: ClusterBackend): Promise<string> {
  const [report] = await runTraces(b, await resolveTarget(b, CROSS_NODE), { skipDetrace: true });
  const v = report?.forward.verdict;
  return v === undefined ? "none" : `${v.kind} ${v.kind === "delivered" ? v.node : ""}`.trim();
}

describe("tunnel neighbours of an idle lab or replica", () => {
  let lab: LabState;
  let snap: string;
  const nodes = (): string[] => lab.cluster.nodes.map((n) => n.name);
  const flushLab = async (): Promise<void> => {
    for (const n of nodes()) {
      await runOnNode(lab, n, ["ovs-appctl", "tnl/neigh/flush"], 10_000);
      const shown = await runOnNode(lab, n, ["ovs-appctl", "tnl/neigh/show"], 10_000);
      expect(shown.stdout).not.toMatch(MAC);
    }
  };

  beforeAll(async () => {
    lab = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    snap = `${lab.dir}-snapshot`;
  });
  afterAll(async () => {
    await stopReplica(snap);
    rmSync(snap, { recursive: true, force: true });
    await labDown(lab.dir);
  });

  it("a lab trace renews them", async () => {
    await flushLab();
    const b = LabBackend.open(lab.dir);
    try {
      expect(await forwardVerdict(b)).toBe("delivered ovn-worker2");
    } finally {
      await b.close();
    }
  });

  it("a probe renews them, and the real packet crosses", async () => {
    await flushLab();
    const real = await probe(lab, probeOf(CROSS_NODE));
    expect(real.verdict.kind).toBe("delivered");
  });

  it("a trace on a replica left running renews them from the snapshot", async () => {
    const b = LabBackend.open(lab.dir);
    try {
      await collectFromBackend(b, { out: snap, source: { kind: "lab", description: b.description } });
    } finally {
      await b.close();
    }
    const replica = await startReplica(snap);
    for (const n of replica.nodes) {
      const env = replicaNodeEnv(replica, n.name);
      expect((await run(["ovs-appctl", "tnl/neigh/flush"], { env })).exitCode).toBe(0);
      expect((await run(["ovs-appctl", "tnl/neigh/show"], { env })).stdout).not.toMatch(MAC);
    }
    const opened = await SnapshotBackend.open(snap);
    try {
      expect(await forwardVerdict(opened)).toBe("delivered ovn-worker2");
    } finally {
      await opened.close();
    }
  });
});
