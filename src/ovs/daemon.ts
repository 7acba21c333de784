import { existsSync, mkdirSync, readdirSync, readFileSync } from "node:fs";
import { basename, join, relative, resolve } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ProcessError } from "../errors.js";
import { run } from "./exec.js";
import { describeFailure, type ExecResult } from "../cluster/backend.js";

/** The OVSDB endpoints a daemon directory's commands talk to by default. */
export interface OvnDbs {
  readonly nb?: string;
  readonly sb?: string;
}

/**
 * The environment that confines OVS/OVN programs to one directory: all eight OVS_/OVN_ dir
 * variables (setting only OVS_* is not enough: OVN programs read OVN_*), so nothing falls back
 * to the host's /var/run/openvswitch or /var/run/ovn.
 */
export function dirEnv(dir: string, dbs: OvnDbs = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env };
  for (const k of Object.keys(env)) if (/^(OVS|OVN)_/.test(k)) Reflect.deleteProperty(env, k);
  for (const v of ["RUNDIR", "DBDIR", "LOGDIR", "SYSCONFDIR"]) {
    env[`OVS_${v}`] = dir;
    env[`OVN_${v}`] = dir;
  }
  if (dbs.nb !== undefined) env.OVN_NB_DB = dbs.nb;
  if (dbs.sb !== undefined) env.OVN_SB_DB = dbs.sb;
  return env;
}

/** A running daemon we started: enough to find it again and stop it, from any process. */
export interface DaemonRecord {
  readonly program: string;
  readonly pid: number;
  readonly dir: string;
}

/** Daemons being started right now (their pidfile may not be written yet). */
let starting = 0;

/** True while some startDaemon call has not returned: a cleanup scans pidfiles again after that. */
export const startsInFlight = (): boolean => starting > 0;

/**
 * Starts an OVS/OVN daemon detached, in `dir`, and returns once it has written its pidfile. With an aborted
 * `signal` (the process is being interrupted) it starts nothing.
 */
export async function startDaemon(
  program: string,
  args: readonly string[],
  dir: string,
  dbs: OvnDbs = {},
  signal?: AbortSignal,
  timeoutMs = 20_000,
): Promise<DaemonRecord> {
  if (signal?.aborted === true) throw new ProcessError(`interrupted: ${program} was not started`);
  starting++;
  try {
    return await startDetached(program, args, dir, dbs, timeoutMs);
  } finally {
    starting--;
  }
}

async function startDetached(
  program: string,
  args: readonly string[],
  dir: string,
  dbs: OvnDbs,
  timeoutMs: number,
): Promise<DaemonRecord> {
  mkdirSync(dir, { recursive: true });
  const r = await run(
    [program, ...args, "-vconsole:off", "--detach", "--no-chdir", "--pidfile", "--log-file"],
    { env: dirEnv(dir, dbs), timeoutMs },
  );
  if (r.exitCode !== 0) {
    throw new ProcessError(`could not start ${program} in ${dir}`, {
      cause: describeFailure(r),
      hint: `see ${join(dir, `${program}.log`)}`,
    });
  }
  const pid = Number(readFileSync(join(dir, `${program}.pid`), "utf8").trim());
  if (!Number.isInteger(pid) || pid <= 0) throw new ProcessError(`${program} wrote no pid in ${dir}`);
  return { program, pid, dir };
}

/**
 * True while the process runs. A detached daemon is reparented to PID 1, which may reap late:
 * a zombie (state Z) has exited and counts as dead.
 */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    return state !== "Z" && state !== "X";
  } catch {
    return false;
  }
}

/**
 * True if `pid` is alive and is the daemon a record says: that program, started by this tool in that directory
 * (its environment's OVS_RUNDIR, which startDaemon sets, is the record's dir). A record from a forged or stale
 * state file that names another process, or another lab's daemon, is not ours.
 */
export function isOurs(d: DaemonRecord): boolean {
  if (!isAlive(d.pid)) return false;
  try {
    const argv0 = readFileSync(`/proc/${String(d.pid)}/cmdline`, "utf8").split("\0")[0] ?? "";
    if (basename(argv0) !== d.program) return false;
    const env = readFileSync(`/proc/${String(d.pid)}/environ`, "utf8").split("\0");
    return env.includes(`OVS_RUNDIR=${d.dir}`);
  } catch {
    return false;
  }
}

/** Whether `path` is `root` or inside it. */
export function isInside(path: string, root: string): boolean {
  const r = relative(resolve(root), resolve(path));
  return r === "" || (!r.startsWith("..") && !r.startsWith("/"));
}

/**
 * The daemons that run from directories under `root`, found by their pidfiles (also those a crashed or
 * interrupted start never recorded): only those that are ours (see isOurs).
 */
export function daemonsUnder(root: string, depth = 4): DaemonRecord[] {
  if (depth < 0 || !existsSync(root)) return [];
  let entries: import("node:fs").Dirent[];
  try {
    entries = readdirSync(root, { withFileTypes: true });
  } catch {
    return [];
  }
  return entries.flatMap((e) => {
    const path = join(root, e.name);
    if (e.isDirectory()) return daemonsUnder(path, depth - 1);
    if (!e.isFile() || !e.name.endsWith(".pid")) return [];
    let pid: number;
    try {
      pid = Number(readFileSync(path, "utf8").trim());
    } catch {
      return [];
    }
    const d = { program: e.name.slice(0, -".pid".length), pid, dir: root };
    return Number.isInteger(pid) && pid > 0 && isOurs(d) ? [d] : [];
  });
}

/** Stops one daemon by pid: TERM, then KILL after `graceMs`. Returns false if it was not running. */
export async function stopDaemon(d: DaemonRecord, graceMs = 3000): Promise<boolean> {
  if (!isOurs(d)) return false;
  try {
    process.kill(d.pid, "SIGTERM");
  } catch {
    return false;
  }
  const deadline = Date.now() + graceMs;
  while (isAlive(d.pid)) {
    if (Date.now() > deadline) {
      try {
        process.kill(d.pid, "SIGKILL");
      } catch {
        // exited meanwhile
      }
      break;
    }
    await sleep(10);
  }
  return true;
}

/** The unixctl socket of a daemon (ovs-appctl -t needs the .ctl path, not the pidfile). */
export function ctlSocket(d: DaemonRecord): string {
  return join(d.dir, `${d.program}.${d.pid}.ctl`);
}

/** Runs a command in a directory's environment and fails loudly if it does not succeed. */
export async function runOk(
  argv: readonly string[],
  dir: string,
  dbs: OvnDbs = {},
  timeoutMs = 30_000,
): Promise<ExecResult> {
  const r = await run(argv, { env: dirEnv(dir, dbs), timeoutMs });
  if (r.exitCode !== 0) throw new ProcessError(describeFailure(r));
  return r;
}

/**
 * Processes that run from a directory under `root` by their environment (OVS_RUNDIR, which startDaemon sets),
 * pidfile or not: a daemon an interrupted start forked but had not yet recorded, a client command under way.
 */
function runningUnder(root: string): DaemonRecord[] {
  let pids: string[];
  try {
    pids = readdirSync("/proc").filter((p) => /^\d+$/.test(p));
  } catch {
    return [];
  }
  return pids.flatMap((p) => {
    try {
      const dir = readFileSync(`/proc/${p}/environ`, "utf8")
        .split("\0")
        .find((kv) => kv.startsWith("OVS_RUNDIR="))
        ?.slice("OVS_RUNDIR=".length);
      if (dir === undefined || !isInside(dir, root)) return [];
      const program = basename(readFileSync(`/proc/${p}/cmdline`, "utf8").split("\0")[0] ?? "");
      return [{ program, pid: Number(p), dir }];
    } catch {
      return [];
    }
  });
}

/**
 * Stops everything that runs from under `root` (daemons by their pidfiles and by their environment), until it
 * stays quiet while no start is under way. Returns how many it stopped.
 */
export async function stopAllUnder(root: string): Promise<number> {
  let stopped = 0;
  for (let round = 0, quiet = 0; round < 200 && quiet < 3; round++) {
    const left = [...new Map([...daemonsUnder(root), ...runningUnder(root)].map((d) => [d.pid, d])).values()];
    if (left.length === 0) {
      if (!startsInFlight()) quiet++;
      await sleep(50);
      continue;
    }
    quiet = 0;
    stopped += (await Promise.all(left.map((d) => stopDaemon(d)))).filter(Boolean).length;
  }
  return stopped;
}
