import { onInterrupt } from "../../ovs/interrupt.js";
import { existsSync } from "node:fs";
import { DEFAULT_TIMEOUT_MS, run } from "../../ovs/exec.js";
import { readOvsdbFile } from "../../ovsdb/file.js";
import { snapshotPaths } from "../../snapshot/format.js";
import { SnapshotGaps } from "../../snapshot/incomplete.js";
import { readSnapshot, type Snapshot } from "../../snapshot/read.js";
import {
  readReplica,
  replicaNodeEnv,
  replicaRunning,
  startReplica,
  stopReplica,
  type ReplicaState,
} from "../../snapshot/replica.js";
import type { ClusterBackend, NodeExecOptions, NodeUse, OvnTraceCall } from "../../cluster/backend.js";
import { OvnTraceDaemons, runRoot, type DaemonPolicy } from "../../ovs/ovn-trace-daemons.js";
import { ObjectStore, StoreBackedObjects } from "../../cluster/object-store.js";
import type { ExecResult } from "../../cluster/backend.js";
import { ClusterUnreachableError, ProcessError } from "../../errors.js";
import type { OvnDatabases, OvsdbDatabase } from "../../model/ovsdb.js";

/** The Kubernetes objects of a snapshot: its kubernetes.json, or derived from its OVN databases. */
async function objectsOf(snap: Snapshot): Promise<unknown[]> {
  const file = snap.manifest.kubernetes?.file ?? snapshotPaths.kubernetes;
  if (existsSync(snap.path(file)) && snap.usable(file) !== undefined)
    return (JSON.parse(snap.text(file)) as { items: unknown[] }).items;
  const read = (f: string | undefined) => {
    const ok = f === undefined ? undefined : snap.usable(f);
    if (ok === undefined) return undefined;
    try {
      return readOvsdbFile(snap.bytes(ok));
    } catch {
      return undefined;
    }
  };
  const { kubernetesFromOvn } = await import("../../snapshot/kubernetes-from-ovn.js");
  return kubernetesFromOvn(snap.manifest.zones.map((z) => ({ nb: read(z.nb), sb: read(z.sb) })));
}

const recorded = (argv: readonly string[], exitCode: number, stdout: string, stderr: string): ExecResult => ({
  argv,
  exitCode,
  stdout,
  stderr,
  timedOut: false,
  durationMs: 0,
});

/**
 * An offline snapshot as a cluster: Kubernetes objects from the snapshot, commands run against its
 * local replica (started on demand and stopped on close, or the one `snapshot start` left running).
 */
export class SnapshotBackend extends StoreBackedObjects implements ClusterBackend {
  readonly kind = "snapshot";
  readonly description: string;
  private readonly gaps: SnapshotGaps;

  private constructor(
    readonly snap: Snapshot,
    readonly replica: ReplicaState,
    private readonly ownsReplica: boolean,
    objects: readonly unknown[],
    daemons: DaemonPolicy,
  ) {
    super(new ObjectStore(objects));
    this.description = `snapshot ${snap.dir} (${snap.manifest.source.kind}: ${snap.manifest.source.description})`;
    this.gaps = new SnapshotGaps(snap, replica);
    this.ovnTraces = new OvnTraceDaemons(
      runRoot(replica.dir),
      daemons,
      replica.zones.flatMap((z) => z.ovnTraces ?? []),
    );
  }

  private readonly ovnTraces: OvnTraceDaemons;

  async ovnTrace(node: string, call: OvnTraceCall, options: NodeExecOptions = {}): Promise<ExecResult> {
    if (!this.snap.manifest.nodes.some((x) => x.name === node))
      throw new ClusterUnreachableError(`the snapshot has no node "${node}"`);
    const sb = replicaNodeEnv(this.replica, node).OVN_SB_DB;
    if (sb === undefined)
      throw new ClusterUnreachableError(`the replica has no SB database for node "${node}"`);
    if (!this.ovnTraces.serves(sb)) return this.execOnNode(node, call.oneShot, options);
    return this.ovnTraces.trace(sb, call, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  /** `daemons`: when ovn-trace runs as daemons (see DaemonPolicy). */
  static async open(dir: string, daemons: DaemonPolicy = "auto"): Promise<SnapshotBackend> {
    const snap = readSnapshot(dir);
    const objects = await objectsOf(snap);
    const running = readReplica(dir);
    if (running !== undefined && replicaRunning(running))
      return new SnapshotBackend(snap, running, false, objects, daemons);
    // the replica started for this run only: an interrupted run stops it too (it is stopped on close otherwise)
    const interrupt = onInterrupt(() => stopReplica(dir));
    try {
      const b = new SnapshotBackend(snap, await startReplica(dir, snap), true, objects, daemons);
      b.interrupt = interrupt;
      return b;
    } catch (e) {
      interrupt.done();
      throw e;
    }
  }

  private interrupt: { done(): void } | undefined;

  async execOnNode(
    node: string,
    argv: readonly string[],
    options: NodeExecOptions = {},
  ): Promise<ExecResult> {
    const n = this.snap.manifest.nodes.find((x) => x.name === node);
    if (n === undefined) throw new ClusterUnreachableError(`the snapshot has no node "${node}"`);
    // The one runtime fact a replica cannot reproduce: the node's kernel links (UDN VRF table ids).
    if (argv.length === 3 && argv[0] === "ip" && argv[1] === "-j" && argv[2] === "link") {
      const f = n.runtime.ipLink === undefined ? undefined : this.snap.usable(n.runtime.ipLink);
      return f === undefined
        ? recorded(argv, 1, "", `the snapshot has no \`ip -j link\` of node ${node}`)
        : recorded(argv, 0, this.snap.text(f), "");
    }
    return run(argv, {
      env: replicaNodeEnv(this.replica, node),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.stdin === undefined ? {} : { input: options.stdin }),
    });
  }

  /**
   * From the manifest (a node not in the snapshot or that failed to collect, a missing or damaged conf.db,
   * zone database, bridge dump or tunnel routing state) and from the replica's record of the steps that
   * failed (flows that did not load, a database that did not start): see src/snapshot/incomplete.ts.
   */
  incompleteData(node: string, used?: NodeUse): Promise<readonly string[]> {
    return Promise.resolve(this.gaps.sentences(node, used));
  }

  private readonly zones = new Map<string, Promise<OvnDatabases>>();

  /** The zone's NB and SB from the snapshot's own files (what the replica's ovsdb-servers serve), once each. */
  zoneDatabases(node: string): Promise<OvnDatabases> {
    const zone = this.snap.manifest.nodes.find((n) => n.name === node)?.zone;
    const z = this.snap.manifest.zones.find((x) => x.name === zone);
    if (z === undefined)
      return Promise.reject(
        new ClusterUnreachableError(`the snapshot has no zone databases for node "${node}"`),
      );
    let p = this.zones.get(z.name);
    if (p === undefined) {
      const read = (part: "NB" | "SB", file: string | undefined): OvsdbDatabase => {
        const ok = file === undefined ? undefined : this.snap.usable(file);
        if (ok === undefined)
          throw new ProcessError(
            `cannot read the ${part} database of zone ${z.name}: the snapshot has no usable one`,
          );
        return readOvsdbFile(this.snap.bytes(ok));
      };
      p = Promise.resolve().then(() => ({ nb: read("NB", z.nb), sb: read("SB", z.sb) }));
      this.zones.set(z.name, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await this.ovnTraces.close();
    if (this.ownsReplica) await stopReplica(this.snap.dir);
    this.interrupt?.done();
  }
}
