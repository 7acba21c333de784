import { readFileSync, renameSync, statSync, truncateSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { objectsOf, SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { TraceTarget } from "../../src/model/target.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import type { LabCluster } from "../../src/lab/cluster.js";
import { labDown, labUp } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { shardRowsWithPrefix } from "../../src/ovsdb/table-shards.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { startReplica, stopReplica, type ReplicaState } from "../../src/snapshot/replica.js";
import {
  buildSnapshotIndex,
  hasSnapshotIndex,
  openIndexedSnapshot,
} from "../../src/snapshot/snapshot-index.js";
import { comparableRun } from "../helpers/comparable.js";
import { newLabDir, waitForMacLearning } from "../helpers/lab.js";

/**
 * The index `snapshot start` builds (table shards, Kubernetes objects by namespace, file stamps): a trace that
 * reads through it gives exactly the report a trace that reads the files gives, on every case of the example,
 * in both shapes; and an index is never used for a file that changed since, or for another manifest.
 */
const SCENARIO = `${EXAMPLES_DIR}kind.yaml`;
const SRC_PORT = 41234;

/** From every pod of the lab: to every other pod (tcp 8080) and to every port of every Service. */
function targets(c: LabCluster): TraceTarget[] {
  const pods = c.pods.filter((p) => !p.hostNetwork);
  const out: TraceTarget[] = [];
  for (const src of pods) {
    const from = { kind: "pod", namespace: src.namespace, name: src.name } as const;
    for (const dst of pods)
      if (dst !== src)
        out.push({
          src: from,
          dst: { kind: "pod", namespace: dst.namespace, name: dst.name },
          protocol: "tcp",
          dstPort: 8080,
        });
    for (const svc of c.services)
      for (const p of svc.ports.filter((x) => x.protocol !== "SCTP"))
        out.push({
          src: from,
          dst: { kind: "service", namespace: svc.namespace, name: svc.name },
          protocol: p.protocol === "UDP" ? "udp" : "tcp",
          dstPort: p.port,
        });
  }
  return out;
}

async function traceAll(b: SnapshotBackend, ts: readonly TraceTarget[]): Promise<unknown[]> {
  const out: unknown[] = [];
  for (const t of ts) {
    const r = await resolveTarget(b, t);
    out.push(comparableRun(await runTraces(b, r, { allBackends: true, srcPort: SRC_PORT })));
  }
  return out;
}

for (const shape of ["central", "interconnect"] as const) {
  describe(`snapshot index (${shape})`, () => {
    let snap: string;
    let replica: ReplicaState;
    const index = (): string => join(replica.dir, "index");
    const ts = targets(loadScenarioFile(SCENARIO, shape));

    beforeAll(async () => {
      const state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
      try {
        await waitForMacLearning(state);
        snap = join(newLabDir(), "snap");
        const b = LabBackend.open(state.dir);
        await collectFromBackend(b, { out: snap, source: { kind: "lab", description: b.description } });
      } finally {
        await labDown(state.dir);
      }
      replica = await startReplica(snap);
      // every table sharded: each lookup of a trace goes through the shards
      expect(
        await buildSnapshotIndex(snap, replica.dir, replica.manifestSha256, objectsOf, 1),
      ).toBeUndefined();
    }, 600_000);
    afterAll(async () => {
      await stopReplica(snap);
    });

    it("traces read through the index give the reports traces that read the files give", async () => {
      expect(ts.length).toBeGreaterThan(10);
      const b = await SnapshotBackend.open(snap);
      let indexed: unknown[];
      try {
        // the run reads the zone databases from their shards
        const node = b.snap.manifest.nodes[0]?.name ?? "";
        const dbs = await b.zoneDatabases(node);
        expect(shardRowsWithPrefix(dbs.sb, "Logical_Flow", "000")).toBeDefined();
        expect(shardRowsWithPrefix(dbs.nb, "Logical_Switch_Port", "000")).toBeDefined();
        indexed = await traceAll(b, ts);
      } finally {
        await b.close();
      }
      renameSync(index(), `${index()}.off`);
      let read: unknown[];
      try {
        const files = await SnapshotBackend.open(snap);
        try {
          const node = files.snap.manifest.nodes[0]?.name ?? "";
          expect(
            shardRowsWithPrefix((await files.zoneDatabases(node)).sb, "Logical_Flow", "000"),
          ).toBeUndefined();
          read = await traceAll(files, ts);
        } finally {
          await files.close();
        }
      } finally {
        renameSync(`${index()}.off`, index());
      }
      expect(indexed).toHaveLength(ts.length);
      indexed.forEach((r, i) => {
        expect(r, JSON.stringify(ts[i])).toEqual(read[i]);
      });
    }, 600_000);

    it("an index that cannot be built is none: runs read the files", async () => {
      const nowhere = join(snap, "manifest.json", "replica");
      const why = await buildSnapshotIndex(snap, nowhere, replica.manifestSha256, objectsOf);
      expect(why).toMatch(/ENOTDIR/);
      expect(hasSnapshotIndex(nowhere)).toBe(false);
      expect(openIndexedSnapshot(snap, nowhere, replica.manifestSha256).objects).toBeUndefined();
    });

    it("an index built for another manifest is not used", () => {
      const sb = openIndexedSnapshot(snap, replica.dir, replica.manifestSha256);
      const file = sb.snap.manifest.zones[0]?.sb ?? "";
      expect(sb.database(file)).toBeDefined();
      expect(sb.objects).toBeDefined();
      const other = openIndexedSnapshot(snap, replica.dir, "0".repeat(64));
      expect(other.database(file)).toBeUndefined();
      expect(other.objects).toBeUndefined();
    });

    if (shape === "central")
      it("a database file that changed is hashed again: its index is used only while its content is the same", async () => {
        const open = () => openIndexedSnapshot(snap, replica.dir, replica.manifestSha256);
        const file = open().snap.manifest.zones[0]?.sb ?? "";
        const path = join(snap, file);
        const original = readFileSync(path);
        const { atime, mtime } = statSync(path);
        const noUsable = /^cannot read the SB database of zone .*: the snapshot has no usable one$/;
        try {
          // the same bytes written again: a new stamp, the same content
          writeFileSync(path, original);
          expect(open().snap.damaged).toEqual([]);
          expect(open().database(file)).toBeDefined();
          expect(open().objects).toBeDefined();
          // one byte changed, size and mtime kept: the stamp still differs (ctime), the hash tells
          const changed = Buffer.from(original);
          changed.writeUInt8(changed.readUInt8(changed.length - 2) ^ 1, changed.length - 2);
          writeFileSync(path, changed);
          utimesSync(path, atime, mtime);
          expect(open().snap.damaged).toEqual([file]);
          expect(open().database(file)).toBeUndefined();
          // objects made while it was intact are not those of the snapshot as it is now
          expect(open().objects).toBeUndefined();
          const b = await SnapshotBackend.open(snap);
          try {
            await expect(b.zoneDatabases(b.snap.manifest.nodes[0]?.name ?? "")).rejects.toThrow(noUsable);
          } finally {
            await b.close();
          }
          // cut short: the same
          writeFileSync(path, original);
          truncateSync(path, original.length - 100);
          expect(open().snap.damaged).toEqual([file]);
          expect(open().database(file)).toBeUndefined();
        } finally {
          writeFileSync(path, original);
        }
        expect(open().database(file)).toBeDefined();
        expect(open().objects).toBeDefined();
        // the objects file written again (it may be one without a checksum): its objects are read from it
        const objectsFile = join(snap, "kubernetes.json");
        writeFileSync(objectsFile, readFileSync(objectsFile));
        expect(open().objects).toBeUndefined();
        expect(open().database(file)).toBeDefined();
      });
  });
}
