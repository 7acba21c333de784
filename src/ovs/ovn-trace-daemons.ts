import { readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { dirname, join } from "node:path";
import type { ExecResult, OvnTraceCall } from "../cluster/backend.js";
import { ProcessError } from "../errors.js";
import { startDaemon, stopAllUnder, stopDaemon, type DaemonRecord } from "./daemon.js";
import { onInterrupt } from "./interrupt.js";
import { unixctlCall } from "./unixctl.js";

/**
 * ovn-trace's --ct and --lb-dst are options of the daemon, not of its `trace` command, and each ct action of
 * each trace consumes the next --ct (they are not reset between traces): a daemon serves one (ct, lb-dst) pair,
 * with enough copies of the flags for many traces, and is replaced before it could run out.
 */
const CT_COPIES = 256;
const TRACES_PER_DAEMON = 32;
/** ovn-trace's note on a ct action that found no --ct left: the daemon ran out (a trace with >8 ct actions). */
const RAN_OUT = "use --ct to customize";
/** Each daemon holds a whole SB in memory: the least recently used ones stop beyond this many. */
const MAX_DAEMONS = 6;
const START_TIMEOUT_MS = 120_000;

/**
 * When daemons are used: `auto` for a zone whose SB file is at least AUTO_MIN_SB_BYTES (below that, ovn-trace
 * loads it in tens of milliseconds and a process per trace costs less than starting and stopping daemons:
 * measured in bench/ovn-trace-daemon.ts), `always`, or `never` (every trace a process on the node).
 */
export type DaemonPolicy = "auto" | "always" | "never";
export const AUTO_MIN_SB_BYTES = 2 * 1024 * 1024;

/** The size of the database file beside an SB's unix socket (the lab's and the replicas' layout), 0 if none. */
export function sbFileBytes(sb: string): number {
  if (!sb.startsWith("unix:")) return 0;
  const dir = dirname(sb.slice("unix:".length));
  try {
    return Math.max(
      0,
      ...readdirSync(dir)
        .filter((f) => f.endsWith(".db"))
        .map((f) => statSync(join(dir, f)).size),
    );
  } catch {
    return 0;
  }
}

/** Where one process's ovn-trace daemons for a lab or replica in `dir` run: inside it, so its stop finds strays. */
export function runRoot(dir: string): string {
  return join(dir, "ovn-trace", `${String(process.pid)}-${String(++roots)}`);
}
let roots = 0;

/**
 * A daemon that outlives runs (started with a replica by `snapshot start`): it loaded its zone's SB once for
 * every later run. Only for traces without --lb-dst. It carries enough --ct flags for thousands of traces; one
 * that runs out (or stopped) is left for the run's own daemons.
 */
export interface ResidentOvnTrace {
  readonly sb: string;
  readonly ct: string;
  readonly ctl: string;
}

const RESIDENT_CT_COPIES = 16_384;
/** The --ct flags the engine traces with: a first packet's, a reply's (engine/direction.ts logicalRequest). */
export const RESIDENT_CT_STATES = ["new", "est,rpl"] as const;

/** Starts a resident daemon for `sb` and `ct` in `dir` (the caller records and stops it by pid). */
export async function startResidentOvnTrace(
  dir: string,
  sb: string,
  ct: string,
): Promise<{ readonly record: DaemonRecord; readonly resident: ResidentOvnTrace }> {
  const ctl = join(dir, "ovn-trace.ctl");
  const args = [`--unixctl=${ctl}`, ...Array.from({ length: RESIDENT_CT_COPIES }, () => `--ct=${ct}`)];
  const record = await startDaemon("ovn-trace", args, dir, { sb }, undefined, START_TIMEOUT_MS);
  return { record, resident: { sb, ct, ctl } };
}

interface Daemon {
  readonly key: string;
  readonly record: DaemonRecord;
  readonly ctl: string;
  uses: number;
  inflight: number;
  retired: boolean;
  /** Stopped to make room (MAX_DAEMONS). */
  evicted?: boolean;
  lastUse: number;
  /** The promise the pool serves it under, while it does. */
  serving?: Promise<Daemon>;
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** The last lines of a daemon's log: why it stopped answering. */
function logTail(d: Daemon): string[] {
  try {
    return readFileSync(join(d.record.dir, "ovn-trace.log"), "utf8").trim().split("\n").slice(-3);
  } catch {
    return [];
  }
}

/**
 * ovn-trace daemons (`ovn-trace --detach`, its unixctl `trace` command), one per southbound database and
 * (ct, lb-dst) pair, each loading its database once and serving every trace of the run that needs it, over
 * its control socket (no process per trace). They run from directories under `root` (inside the lab's or
 * replica's directory, so stopping those stops any the run could not) and are stopped by pid on close and
 * when the process is interrupted.
 */
export class OvnTraceDaemons {
  /** The daemon in service for each key; a retired one is no longer here. */
  private readonly serving = new Map<string, Promise<Daemon>>();
  /** Every daemon started, to stop them all on close. */
  private readonly all: Promise<Daemon | undefined>[] = [];
  private readonly stopping: Promise<boolean>[] = [];
  private started = 0;
  private interrupt: { done(): void } | undefined;
  /** Traces served and daemons started, for the run's figures. */
  readonly counts = { traces: 0, daemons: 0 };

  constructor(
    private readonly root: string,
    private readonly policy: DaemonPolicy = "auto",
    private readonly residents: readonly ResidentOvnTrace[] = [],
  ) {}

  /** Resident daemons that failed or ran out in this run: not asked again. */
  private readonly spent = new Set<ResidentOvnTrace>();

  /** The answer of a resident daemon for the call, if one serves it and answered fully. */
  private async fromResident(sb: string, call: OvnTraceCall, timeoutMs: number): Promise<string | undefined> {
    if (call.lbDst !== undefined) return undefined;
    const r = this.residents.find((x) => x.sb === sb && x.ct === call.ct && !this.spent.has(x));
    if (r === undefined) return undefined;
    try {
      const reply = await unixctlCall(
        r.ctl,
        "trace",
        ["--detailed", call.datapath, call.microflow],
        timeoutMs,
      );
      if (reply.ok && !reply.text.includes(RAN_OUT)) return reply.text;
    } catch {
      // stopped or dead: the run's own daemon answers
    }
    this.spent.add(r);
    return undefined;
  }

  private readonly sizes = new Map<string, number>();

  /** Whether traces on `sb` go to a daemon (see DaemonPolicy); a resident one always serves. */
  serves(sb: string): boolean {
    if (this.residents.some((r) => r.sb === sb)) return this.policy !== "never";
    if (this.policy !== "auto") return this.policy === "always";
    let size = this.sizes.get(sb);
    if (size === undefined) {
      size = sbFileBytes(sb);
      this.sizes.set(sb, size);
    }
    return size >= AUTO_MIN_SB_BYTES;
  }

  /** Runs one trace on the daemon for `sb` and the call's options, starting it if needed. */
  async trace(sb: string, call: OvnTraceCall, timeoutMs: number): Promise<ExecResult> {
    const started = performance.now();
    const argv = ["ovn-trace", "--detailed", call.datapath, call.microflow];
    const result = (exitCode: number, stdout: string, stderr: string, timedOut = false): ExecResult => ({
      argv,
      exitCode,
      stdout,
      stderr,
      timedOut,
      durationMs: Math.round(performance.now() - started),
    });
    const resident = await this.fromResident(sb, call, timeoutMs);
    if (resident !== undefined) {
      this.counts.traces++;
      return { ...result(0, resident, ""), servedBy: "resident ovn-trace daemon" };
    }
    const key = JSON.stringify([sb, call.ct, call.lbDst ?? ""]);
    for (let attempt = 0; ; attempt++) {
      let d: Daemon;
      try {
        d = await this.daemon(key, sb, call);
      } catch (e) {
        return result(1, "", `could not start an ovn-trace daemon on ${sb}: ${message(e)}`);
      }
      d.uses++;
      d.inflight++;
      d.lastUse = performance.now();
      if (d.uses >= TRACES_PER_DAEMON) this.retire(d);
      try {
        const reply = await unixctlCall(
          d.ctl,
          "trace",
          ["--detailed", call.datapath, call.microflow],
          timeoutMs,
        );
        if (!reply.ok) return result(1, "", reply.error);
        if (reply.text.includes(RAN_OUT) && attempt === 0) {
          this.retire(d);
          continue;
        }
        this.counts.traces++;
        // as the one-shot command: a microflow it cannot parse or an unknown datapath is its answer, exit 0
        return { ...result(0, reply.text, ""), servedBy: `ovn-trace daemon ${String(d.record.pid)}` };
      } catch (e) {
        // stopped under this call to make room for another: a fresh one answers
        if (d.evicted && attempt === 0) continue;
        // the daemon died on this trace (an assertion on an unknown port): what it said is in its log
        this.retire(d);
        return result(1, "", [message(e), ...logTail(d)].join("\n"), /no answer/.test(message(e)));
      } finally {
        d.inflight--;
        if (d.retired && d.inflight === 0) this.stopping.push(stopDaemon(d.record));
      }
    }
  }

  private daemon(key: string, sb: string, c: OvnTraceCall): Promise<Daemon> {
    let d = this.serving.get(key);
    if (d === undefined) {
      const served: Promise<Daemon> = this.start(key, sb, c).then((x) =>
        Object.assign(x, { serving: served }),
      );
      d = served;
      this.serving.set(key, d);
      this.all.push(d.catch(() => undefined));
      d.catch(() => {
        if (this.serving.get(key) === d) this.serving.delete(key);
      });
      void this.evict();
    }
    return d;
  }

  private async start(key: string, sb: string, c: OvnTraceCall): Promise<Daemon> {
    this.interrupt ??= onInterrupt(() => this.close());
    const dir = join(this.root, String(this.started++));
    const ctl = join(dir, "ovn-trace.ctl");
    const args = [
      `--unixctl=${ctl}`,
      ...Array.from({ length: CT_COPIES }, () => `--ct=${c.ct}`),
      ...(c.lbDst === undefined ? [] : [`--lb-dst=${c.lbDst}`]),
    ];
    const record = await startDaemon("ovn-trace", args, dir, { sb }, undefined, START_TIMEOUT_MS).catch(
      async (e: unknown) => {
        // a start that timed out may have left the daemon loading
        await stopAllUnder(dir);
        throw e instanceof Error ? e : new ProcessError(String(e));
      },
    );
    this.counts.daemons++;
    return { key, record, ctl, uses: 0, inflight: 0, retired: false, lastUse: performance.now() };
  }

  /** Takes a daemon out of service: later calls start a fresh one; it stops once its traces are answered. */
  private retire(d: Daemon): void {
    d.retired = true;
    if (d.serving !== undefined && this.serving.get(d.key) === d.serving) this.serving.delete(d.key);
  }

  /** Each daemon holds a whole SB: beyond MAX_DAEMONS, the least recently started idle one stops. */
  private async evict(): Promise<void> {
    if (this.serving.size <= MAX_DAEMONS) return;
    const ready = await Promise.all([...this.serving.values()].map((p) => p.catch(() => undefined)));
    const idle = ready.filter((d): d is Daemon => d !== undefined && !d.retired && d.inflight === 0);
    const oldest = idle.sort((a, b) => a.lastUse - b.lastUse)[0];
    if (oldest === undefined || this.serving.size <= MAX_DAEMONS) return;
    this.retire(oldest);
    oldest.evicted = true;
    this.stopping.push(stopDaemon(oldest.record));
  }

  /** Stops every daemon this pool started (by pid) and removes their directories. */
  async close(): Promise<void> {
    this.serving.clear();
    const all = await Promise.all(this.all.splice(0));
    await Promise.all([
      ...all.map((d) => (d === undefined ? false : stopDaemon(d.record))),
      ...this.stopping,
    ]);
    this.stopping.length = 0;
    if (this.started > 0) rmSync(this.root, { recursive: true, force: true });
    this.interrupt?.done();
    this.interrupt = undefined;
  }
}
