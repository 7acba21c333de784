import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { recordingCommands } from "../../src/cluster/recorded-backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { TraceTarget } from "../../src/model/target.js";
import { replicaText } from "../../src/render/snapshot-text.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { replicaDir, startReplica, stopReplica } from "../../src/snapshot/replica.js";
import { comparableRun } from "../helpers/comparable.js";
import { newLabDir, processesUnder, waitForMacLearning } from "../helpers/lab.js";

/**
 * A replica left running by `snapshot start` keeps ovn-trace daemons that loaded each zone's SB once: later runs
 * trace on them (no SB load, no process per trace) and get exactly what a process per trace prints; stopping the
 * replica stops them. The zone's databases for detrace are read from the snapshot's files.
 */
describe("resident ovn-trace daemons of a started replica", () => {
  let state: LabState;
  let snap = "";
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"), newLabDir())).state;
    await waitForMacLearning(state);
    snap = join(newLabDir(), "snap");
    const b = LabBackend.open(state.dir);
    await collectFromBackend(b, {
      out: snap,
      source: { kind: "lab", description: "resident ovn-trace test" },
    });
    await b.close();
  });
  afterAll(async () => {
    await stopReplica(snap);
    await labDown(state.dir);
  });

  const target: TraceTarget = {
    src: { kind: "pod", namespace: "default", name: "client" },
    dst: { kind: "pod", namespace: "default", name: "web" },
    protocol: "tcp",
    dstPort: 8080,
  };

  it("later runs trace on them, with what a process per trace prints; the replica's stop stops them", async () => {
    const replica = await startReplica(snap, undefined, { residentOvnTrace: "always" });
    const residents = replica.zones.flatMap((z) => z.ovnTraces ?? []);
    // central: one zone, a daemon for first packets and one for replies
    expect(residents.map((r) => r.ct).sort()).toEqual(["est,rpl", "new"]);
    // and snapshot start says so
    expect(replicaText(replica)).toMatch(
      /ovn-trace daemons \(SB loaded once for every run\): --ct=new, --ct=est,rpl/,
    );
    const runs = [];
    for (const policy of ["auto", "never"] as const) {
      const opened = await SnapshotBackend.open(snap, policy);
      const { backend, commands } = recordingCommands(opened);
      try {
        runs.push(comparableRun(await runTraces(backend, await resolveTarget(backend, target))));
      } finally {
        await opened.close();
      }
      // the zone's databases come from the snapshot's files, not a backup through the replica's ovsdb-server
      expect(commands.filter((c) => c.argv.join(" ").includes("ovsdb-client backup"))).toEqual([]);
      const logical = commands.filter((c) => c.argv[0] === "ovn-trace");
      expect(logical.length).toBeGreaterThan(0);
      for (const c of logical)
        expect(c.servedBy, c.argv.join(" ")).toBe(
          policy === "auto" ? "resident ovn-trace daemon" : undefined,
        );
    }
    expect(runs[0]).toEqual(runs[1]);
    // the runs stopped nothing of the replica's
    expect(processesUnder(replicaDir(snap)).length).toBeGreaterThan(0);
    await stopReplica(snap);
    expect(processesUnder(replicaDir(snap))).toEqual([]);
  });
});
