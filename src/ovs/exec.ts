import { spawn, type ChildProcess } from "node:child_process";
import type { ExecResult } from "../cluster/backend.js";
import { findBinary } from "./binaries.js";

export interface ExecOptions {
  readonly env?: NodeJS.ProcessEnv;
  readonly timeoutMs?: number;
  readonly input?: string;
  readonly cwd?: string;
  /** A step of cleaning up: it still runs once the process is being interrupted (nothing else does). */
  readonly cleanup?: boolean;
}

export const DEFAULT_TIMEOUT_MS = 30_000;

/** The commands running now (this process's children). */
const running = new Set<ChildProcess>();

/** Set once the process is being interrupted: from then on only cleanup commands run. */
let interrupted = false;

/**
 * Kills every command still running and refuses new ones but cleanup steps (an interrupted run: the daemons
 * they talk to are being stopped under them, and a step still under way must not start more).
 */
export function killRunningCommands(): void {
  interrupted = true;
  for (const child of running) killGroup(child);
  running.clear();
}

/**
 * Kills a command and whatever it started (`sh -c` and its children): each command runs in a process group of
 * its own, so a child that holds the output pipes open cannot make a timed-out command wait for it.
 */
function killGroup(child: ChildProcess): void {
  try {
    if (child.pid !== undefined) process.kill(-child.pid, "SIGKILL");
  } catch {
    child.kill("SIGKILL");
  }
}

/** Runs argv[0] (an OVS/OVN program name or a path) with argv[1..]; never through a shell. */
export function run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
  const [program, ...args] = argv;
  if (program === undefined) throw new TypeError("run: empty argv");
  const file = program.includes("/") ? program : findBinary(program);
  const started = performance.now();
  if (interrupted && options.cleanup !== true)
    return Promise.resolve({
      argv,
      exitCode: 130,
      stdout: "",
      stderr: "interrupted",
      timedOut: false,
      durationMs: 0,
    });
  return new Promise((resolve) => {
    const child = spawn(file, args, {
      env: options.env ?? process.env,
      cwd: options.cwd,
      stdio: ["pipe", "pipe", "pipe"],
      detached: true,
    });
    running.add(child);
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child);
    }, options.timeoutMs ?? DEFAULT_TIMEOUT_MS);
    child.stdout.on("data", (b: Buffer) => out.push(b));
    child.stderr.on("data", (b: Buffer) => err.push(b));
    const finish = (exitCode: number, extraErr = ""): void => {
      clearTimeout(timer);
      running.delete(child);
      resolve({
        argv,
        exitCode,
        stdout: Buffer.concat(out).toString("utf8"),
        stderr: Buffer.concat(err).toString("utf8") + extraErr,
        timedOut,
        durationMs: Math.round(performance.now() - started),
      });
    };
    child.on("error", (e) => {
      finish(127, e.message);
    });
    child.on("close", (code, signal) => {
      finish(code ?? (signal === null ? 1 : 128 + 9));
    });
    child.stdin.on("error", () => undefined);
    child.stdin.end(options.input ?? "");
  });
}
