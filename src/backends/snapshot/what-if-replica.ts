import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import type { ClusterBackend, ExecResult, NodeExecOptions, OvnTraceCall } from "../../cluster/backend.js";
import { ObjectStore, StoreBackedObjects } from "../../cluster/object-store.js";
import { ClusterUnreachableError, InputError } from "../../errors.js";
import { waitFor } from "../../lab/wait.js";
import type { OvnDatabases } from "../../model/ovsdb.js";
import { dirEnv, runOk, startDaemon, stopAllUnder, stopDaemon, type DaemonRecord } from "../../ovs/daemon.js";
import { DEFAULT_TIMEOUT_MS, run } from "../../ovs/exec.js";
import { onInterrupt } from "../../ovs/interrupt.js";
import { OvnTraceDaemons, runRoot } from "../../ovs/ovn-trace-daemons.js";
import { readOvsdbFile } from "../../ovsdb/file.js";
import type { Snapshot } from "../../snapshot/read.js";

/**
 * A what-if replica of a snapshot: copies of every zone's NB and SB in a directory of its own, each served by its
 * own ovsdb-server, with this machine's ovn-northd computing the SB from the NB, so that a change written into the
 * NB can be traced with ovn-trace. The snapshot's files and a replica `snapshot start` runs are never touched; no
 * ovn-controller nor ovs-vswitchd runs (verdicts are logical: OpenFlow is not recomputed). Removed on close.
 */

/** Short unix socket paths: every what-if replica lives under this root. */
export const WHAT_IF_ROOT = "/tmp/ovnkube-trace-what-if";

/** How long a zone may take to sync, besides the progress-based stall check (waitFor). */
const SYNC_BUDGET_MS = 30 * 60_000;

export interface WhatIfZone {
  readonly name: string;
  readonly dir: string;
  /** The zone's nodes (as the snapshot's manifest names them). */
  readonly nodes: readonly string[];
  readonly dbs: { readonly nb: string; readonly sb: string };
  readonly nbFile: string;
  readonly sbFile: string;
}

export class WhatIfReplica {
  private constructor(
    readonly snap: Snapshot,
    readonly dir: string,
    readonly zones: readonly WhatIfZone[],
    private readonly daemons: (DaemonRecord & { readonly owner: string })[],
    private readonly interrupt: { done(): void },
  ) {}

  /** Copies each zone's databases, starts their servers and ovn-northd, and waits until northd computed each SB. */
  static async start(snap: Snapshot): Promise<WhatIfReplica> {
    mkdirSync(WHAT_IF_ROOT, { recursive: true });
    const dir = mkdtempSync(join(WHAT_IF_ROOT, "w"));
    const daemons: (DaemonRecord & { owner: string })[] = [];
    const interrupt = onInterrupt(() => removeReplica(dir, daemons));
    try {
      const zones = await Promise.all(
        snap.manifest.zones.map(async (z, i): Promise<WhatIfZone> => {
          const zdir = join(dir, `z${String(i)}`);
          const file = (part: "NB" | "SB", f: string | undefined): string => {
            const ok = f === undefined ? undefined : snap.usable(f);
            if (ok === undefined)
              throw new InputError(
                `what-if needs the ${part} database of zone ${z.name}: the snapshot has no usable one`,
              );
            const to = join(zdir, `${part.toLowerCase()}.db`);
            mkdirSync(zdir, { recursive: true });
            copyFileSync(snap.path(ok), to);
            return to;
          };
          const nbFile = file("NB", z.nb);
          const sbFile = file("SB", z.sb);
          const dbs = { nb: `unix:${join(zdir, "nb.sock")}`, sb: `unix:${join(zdir, "sb.sock")}` };
          const owner = `zone ${z.name}`;
          const start = async (program: string, args: string[], sub: string, ms?: number): Promise<void> => {
            const d = await startDaemon(program, args, join(zdir, sub), {}, undefined, ms);
            daemons.push({ ...d, owner });
          };
          // ovsdb-server reads the whole file before it answers: time in proportion to its size
          const loadMs = (f: string): number => 20_000 + statSync(f).size / 1000;
          await Promise.all([
            start("ovsdb-server", [`--remote=p${dbs.nb}`, nbFile], "nb", loadMs(nbFile)),
            start("ovsdb-server", [`--remote=p${dbs.sb}`, sbFile], "sb", loadMs(sbFile)),
          ]);
          await start("ovn-northd", [`--ovnnb-db=${dbs.nb}`, `--ovnsb-db=${dbs.sb}`], "northd");
          return {
            name: z.name,
            dir: zdir,
            nodes: snap.manifest.nodes.filter((n) => n.zone === z.name).map((n) => n.name),
            dbs,
            nbFile,
            sbFile,
          };
        }),
      );
      const replica = new WhatIfReplica(snap, dir, zones, daemons, interrupt);
      await replica.sync();
      return replica;
    } catch (e) {
      await removeReplica(dir, daemons);
      interrupt.done();
      throw e;
    }
  }

  /** Runs an ovn-nbctl command line (argv after the program) on a zone's NB. */
  async nbctl(zone: WhatIfZone, args: readonly string[]): Promise<ExecResult> {
    return runOk(["ovn-nbctl", "--timeout=120", ...args], zone.dir, zone.dbs, 130_000);
  }

  /** Waits until ovn-northd has written into every zone's SB what its NB says now (nb_cfg → sb_cfg). */
  async sync(): Promise<void> {
    await Promise.all(
      this.zones.map(async (z) => {
        const cfg = Number((await this.nbctl(z, ["get", "NB_Global", ".", "nb_cfg"])).stdout.trim()) + 1;
        await this.nbctl(z, ["set", "NB_Global", ".", `nb_cfg=${String(cfg)}`]);
        const watched = this.daemons.filter((d) => d.owner === `zone ${z.name}`);
        await waitFor(
          `zone ${z.name}: ovn-northd computing the SB`,
          watched,
          watched,
          async () => {
            const r = await run(["ovn-nbctl", "get", "NB_Global", ".", "sb_cfg"], {
              env: dirEnv(z.dir, z.dbs),
              timeoutMs: 30_000,
            });
            const now = Number(r.stdout.trim());
            return r.exitCode === 0 && now >= cfg ? true : `sb_cfg ${r.stdout.trim()} of ${String(cfg)}`;
          },
          { budgetMs: SYNC_BUDGET_MS },
        );
      }),
    );
  }

  /** The replica as it is now, as a cluster of these Kubernetes objects (close it before the NB changes). */
  backend(objects: readonly unknown[], state: string): WhatIfBackend {
    return new WhatIfBackend(this, objects, state);
  }

  zoneOf(node: string): WhatIfZone {
    const z = this.zones.find((x) => x.nodes.includes(node));
    if (z === undefined) throw new ClusterUnreachableError(`the snapshot has no node "${node}"`);
    return z;
  }

  /** Stops every daemon of the replica (by pid) and removes its directory. */
  async close(): Promise<void> {
    await removeReplica(this.dir, this.daemons);
    this.interrupt.done();
  }
}

async function removeReplica(dir: string, daemons: readonly DaemonRecord[]): Promise<void> {
  // northd before its databases: it would log every lost connection
  const order = [...daemons].sort(
    (a, b) => Number(b.program === "ovn-northd") - Number(a.program === "ovn-northd"),
  );
  for (const d of order) await stopDaemon(d);
  await stopAllUnder(dir);
  rmSync(dir, { recursive: true, force: true });
}

/** Only OVN's own commands run in a what-if replica: there is no OVS. */
const OVN_COMMANDS = new Set(["ovn-trace", "ovn-nbctl", "ovn-sbctl"]);

/**
 * A what-if replica as a cluster: the Kubernetes objects given (the snapshot's, with the change), ovn-trace on the
 * zones' SBs as ovn-northd computed them, the zones' NB and SB read from the replica's files. OpenFlow commands
 * fail: no ovs-vswitchd runs.
 */
export class WhatIfBackend extends StoreBackedObjects implements ClusterBackend {
  readonly kind = "snapshot";
  readonly description: string;
  private readonly ovnTraces: OvnTraceDaemons;

  constructor(
    private readonly replica: WhatIfReplica,
    objects: readonly unknown[],
    state: string,
  ) {
    super(new ObjectStore(objects));
    this.description = `what-if replica of snapshot ${replica.snap.dir} (${state})`;
    this.ovnTraces = new OvnTraceDaemons(runRoot(replica.dir), "always");
  }

  ovnTrace(node: string, call: OvnTraceCall, options: NodeExecOptions = {}): Promise<ExecResult> {
    const z = this.replica.zoneOf(node);
    return this.ovnTraces.trace(z.dbs.sb, call, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
  }

  execOnNode(node: string, argv: readonly string[], options: NodeExecOptions = {}): Promise<ExecResult> {
    const z = this.replica.zoneOf(node);
    if (!OVN_COMMANDS.has(argv[0] ?? ""))
      return Promise.resolve({
        argv,
        exitCode: 1,
        stdout: "",
        stderr: `a what-if replica runs OVN's databases and ovn-northd only: OpenFlow is not recomputed (${argv[0] ?? ""} cannot run)`,
        timedOut: false,
        durationMs: 0,
      });
    return run(argv, {
      env: dirEnv(z.dir, z.dbs),
      timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      ...(options.stdin === undefined ? {} : { input: options.stdin }),
    });
  }

  private readonly zones = new Map<string, Promise<OvnDatabases>>();

  /** The zone's NB and SB as the replica's servers hold them now (read once per backend). */
  zoneDatabases(node: string): Promise<OvnDatabases> {
    const z = this.replica.zoneOf(node);
    let p = this.zones.get(z.name);
    if (p === undefined) {
      p = Promise.resolve().then(() => ({
        nb: readOvsdbFile(readFileSync(z.nbFile)),
        sb: readOvsdbFile(readFileSync(z.sbFile)),
      }));
      this.zones.set(z.name, p);
    }
    return p;
  }

  async close(): Promise<void> {
    await this.ovnTraces.close();
  }
}
