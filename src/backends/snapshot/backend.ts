import { onInterrupt } from "../../ovs/interrupt.js";
import { existsSync } from "node:fs";
import { DEFAULT_TIMEOUT_MS, run } from "../../ovs/exec.js";
import { ctlSocket } from "../../ovs/daemon.js";
import { renewTunnelNeighbours } from "../../ovs/tunnel-neighbours.js";
import { readOvsdbFile } from "../../ovsdb/file.js";
import { snapshotPaths, type SnapshotNode } from "../../snapshot/format.js";
import { SnapshotGaps } from "../../snapshot/incomplete.js";
import type { DatabaseReader, Snapshot } from "../../snapshot/read.js";
import { openIndexedSnapshot } from "../../snapshot/snapshot-index.js";
import {
  readReplica,
  recordedTunnelNeighbours,
  replicaNodeEnv,
  replicaRunning,
  startReplica,
  stopReplica,
  type ReplicaState,
} from "../../snapshot/replica.js";
import type { ClusterBackend, NodeExecOptions, NodeUse, OvnTraceCall } from "../../cluster/backend.js";
import { OvnTraceDaemons, runRoot, type DaemonPolicy } from "../../ovs/ovn-trace-daemons.js";
import { ObjectStore, StoreBackedObjects, type ObjectSource } from "../../cluster/object-store.js";
import type { ExecResult } from "../../cluster/backend.js";
import { ClusterUnreachableError, ProcessError } from "../../errors.js";
import type { OvnDatabases, OvsdbDatabase } from "../../model/ovsdb.js";
import { routeGet, type RecordedHostRoutes } from "../../snapshot/host-routes.js";

/**
 * Each database file read once (its shards when the replica's index has them, else the file): the Kubernetes
 * objects derived from the zone databases, the traces and the check of what is missing share one read.
 */
function onceEach(read: DatabaseReader): DatabaseReader {
  const done = new Map<string, { db: OvsdbDatabase } | { error: unknown }>();
  return (file) => {
    let r = done.get(file);
    if (r === undefined) {
      try {
        r = { db: read(file) };
      } catch (error) {
        r = { error };
      }
      done.set(file, r);
    }
    if ("error" in r) throw r.error;
    return r.db;
  };
}

/** The Kubernetes objects of a snapshot: its kubernetes.json, or derived from its OVN databases. */
export async function objectsOf(
  snap: Snapshot,
  readDatabase: DatabaseReader = (file) => readOvsdbFile(snap.bytes(file)),
): Promise<unknown[]> {
  const file = snap.manifest.kubernetes?.file ?? snapshotPaths.kubernetes;
  if (existsSync(snap.path(file)) && snap.usable(file) !== undefined)
    return (JSON.parse(snap.text(file)) as { items: unknown[] }).items;
  const read = (f: string | undefined) => {
    const ok = f === undefined ? undefined : snap.usable(f);
    if (ok === undefined) return undefined;
    try {
      return readDatabase(ok);
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
    objects: readonly unknown[] | ObjectSource,
    daemons: DaemonPolicy,
    private readonly readDatabase: DatabaseReader,
  ) {
    super(new ObjectStore(objects));
    this.description = `snapshot ${snap.dir} (${snap.manifest.source.kind}: ${snap.manifest.source.description})`;
    this.gaps = new SnapshotGaps(snap, replica, readDatabase);
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
    const found = readReplica(dir);
    const running = found !== undefined && replicaRunning(found) ? found : undefined;
    const indexed = openIndexedSnapshot(dir, running?.dir, running?.manifestSha256);
    const snap = indexed.snap;
    const readDatabase = onceEach((file) => indexed.database(file) ?? readOvsdbFile(snap.bytes(file)));
    const objects = indexed.objects ?? (await objectsOf(snap, readDatabase));
    if (running !== undefined)
      return new SnapshotBackend(snap, running, false, objects, daemons, readDatabase);
    // the replica started for this run only: an interrupted run stops it too (it is stopped on close otherwise)
    const interrupt = onInterrupt(() => stopReplica(dir));
    try {
      const b = new SnapshotBackend(
        snap,
        await startReplica(dir, snap),
        true,
        objects,
        daemons,
        readDatabase,
      );
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
    // `ip route get`, from the node's recorded routes; any other `ip` command would read this machine's kernel
    if (argv[0] === "ip") return this.hostRouteGet(n, argv);
    await this.renewNeighbours(n);
    return run(argv, {
      env: replicaNodeEnv(this.replica, node),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.stdin === undefined ? {} : { input: options.stdin }),
    });
  }

  private readonly renewed = new Set<string>();

  /** A replica left running by `snapshot start` may have been idle long enough to forget its tunnel neighbours. */
  private async renewNeighbours(n: SnapshotNode): Promise<void> {
    if (this.ownsReplica || this.renewed.has(n.name)) return;
    this.renewed.add(n.name);
    const d = this.replica.daemons.find((x) => x.owner === n.name && x.program === "ovs-vswitchd");
    if (d !== undefined)
      await renewTunnelNeighbours(ctlSocket(d), recordedTunnelNeighbours(this.snap, n), DEFAULT_TIMEOUT_MS);
  }

  /** `ip -j route get DST from SRC iif DEV` as the node would answer it, looked up in its recorded routes. */
  private hostRouteGet(n: SnapshotNode, argv: readonly string[]): ExecResult {
    const [, j, route, get, dst, from, src, iif, dev] = argv;
    const shape = j === "-j" && route === "route" && get === "get" && from === "from" && iif === "iif";
    if (!shape || dst === undefined || src === undefined || dev === undefined || argv.length !== 9)
      return recorded(argv, 1, "", `a snapshot cannot answer \`${argv.join(" ")}\` for node ${n.name}`);
    const f = n.runtime.hostRoutes === undefined ? undefined : this.snap.usable(n.runtime.hostRoutes);
    if (f === undefined) return recorded(argv, 1, "", `the snapshot has no routes of node ${n.name}`);
    const a = routeGet(JSON.parse(this.snap.text(f)) as RecordedHostRoutes, dst, src, dev);
    return a.ok ? recorded(argv, 0, a.json, "") : recorded(argv, 2, "", a.error);
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
        return this.readDatabase(ok);
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
