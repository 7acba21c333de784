import { mkdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
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

/** Starts an OVS/OVN daemon detached, in `dir`, and returns once it has written its pidfile. */
export async function startDaemon(
  program: string,
  args: readonly string[],
  dir: string,
  dbs: OvnDbs = {},
): Promise<DaemonRecord> {
  mkdirSync(dir, { recursive: true });
  const r = await run(
    [program, ...args, "-vconsole:off", "--detach", "--no-chdir", "--pidfile", "--log-file"],
    { env: dirEnv(dir, dbs), timeoutMs: 20_000 },
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

/** True if `pid` is alive and is still the program we started (guards against pid reuse). */
export function isOurs(d: DaemonRecord): boolean {
  if (!isAlive(d.pid)) return false;
  try {
    const argv = readFileSync(`/proc/${d.pid}/cmdline`, "utf8").split("\0");
    return argv.some((a) => a.endsWith(d.program));
  } catch {
    return false;
  }
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
