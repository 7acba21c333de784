import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { stopReplica } from "../../src/snapshot/replica.js";
import { newLabDir } from "../helpers/lab.js";
import { backendContract, type ContractGap } from "../cluster/contract.js";

/**
 * The cases of the contract a snapshot cannot pass, and why. None: the contract asks for what a
 * snapshot records and its replica serves — the Kubernetes objects (kubernetes.json), each node's
 * OVS (its conf.db and flows, in a dummy-datapath ovs-vswitchd) and each zone's NB/SB databases.
 * What a replica does not have (a running ovn-controller, the node's live state after the collect)
 * the contract does not ask for. A case this backend stops passing goes here, with its reason and
 * what the backend says instead.
 */
const SNAPSHOT_GAPS: readonly ContractGap[] = [];

/** A snapshot collected from the lab (what `snapshot collect --lab` does), served by its replica alone. */
describe.each(["central", "interconnect"] as const)("snapshot backend (%s)", (shape) => {
  let labDir: string | undefined;
  let snap: string | undefined;
  let backend: SnapshotBackend | undefined;
  beforeAll(async () => {
    const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, shape), newLabDir());
    labDir = state.dir;
    const live = LabBackend.open(state.dir);
    snap = join(newLabDir(), "snap");
    await collectFromBackend(live, { out: snap, source: { kind: "lab", description: live.description } });
    // the lab the snapshot comes from is gone before the contract runs: the replica answers alone
    await labDown(state.dir);
    labDir = undefined;
    backend = await SnapshotBackend.open(snap);
  });
  afterAll(async () => {
    await backend?.close();
    // the replica lives outside the test labs' root: the global teardown would not stop it
    if (snap !== undefined) await stopReplica(snap);
    if (labDir !== undefined) await labDown(labDir);
  });

  backendContract(() => {
    if (backend === undefined) throw new Error("the snapshot backend did not open");
    return backend;
  }, SNAPSHOT_GAPS);

  it("incompleteData: nothing for a node collected whole, one sentence for a node it does not have", async () => {
    const nodes = backend?.snap.manifest.nodes.map((n) => n.name) ?? [];
    expect(nodes.length).toBe(3);
    for (const n of nodes) expect(await backend?.incompleteData(n), n).toEqual([]);
    expect(await backend?.incompleteData("ovn-worker9")).toEqual([
      expect.stringMatching(
        /^node ovn-worker9 is not in the snapshot \(.*it holds .*\): take a new snapshot that includes it$/,
      ),
    ]);
  });
});
