// The CLI as a user runs it: start-up (`--version`, `--help`) against `node -e 0`, and a full `--lab` trace,
// each a fresh process, with its peak memory (VmHWM, reported by the process itself at exit).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { median } from "./ovsdb-load.js";

const CLI = new URL("../dist/cli/main.js", import.meta.url).pathname;

export interface ProcessFigures {
  readonly ms: number;
  readonly maxRssMb: number;
  readonly exitCode: number;
}

/** Runs `node ...args` `runs` times; the median wall time and peak memory. */
export function timeNode(args: readonly string[], runs: number): ProcessFigures {
  const dir = mkdtempSync("/tmp/otl-bench-cli-");
  // a preload that writes the process's own peak RSS when it exits: no external `time` needed
  const hook = join(dir, "maxrss.cjs");
  const out = join(dir, "rss");
  writeFileSync(
    hook,
    // VmHWM is this process's own peak (getrusage's maxRSS can carry the spawning parent's)
    `process.on("exit", () => { const fs = require("node:fs"); fs.writeFileSync(${JSON.stringify(out)}, /VmHWM:\\s+(\\d+)/.exec(fs.readFileSync("/proc/self/status", "utf8"))[1]); });`,
  );
  const ms: number[] = [];
  const rss: number[] = [];
  let exitCode = 0;
  try {
    for (let i = 0; i < runs; i++) {
      const t = performance.now();
      const r = spawnSync(process.execPath, ["--require", hook, ...args], {
        stdio: ["ignore", "ignore", "pipe"],
      });
      ms.push(performance.now() - t);
      exitCode = r.status ?? 1;
      rss.push(Number(readFileSync(out, "utf8")) / 1024);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { ms: median(ms), maxRssMb: median(rss), exitCode };
}

export interface StartupFigures {
  readonly node: ProcessFigures;
  readonly version: ProcessFigures;
  readonly help: ProcessFigures;
}

export function benchStartup(runs: number): StartupFigures {
  return {
    node: timeNode(["-e", "0"], runs),
    version: timeNode([CLI, "--version"], runs),
    help: timeNode([CLI, "--help"], runs),
  };
}

/** A full bidirectional trace with the CLI on the lab in `labDir` (the lab stays as it is). */
export function benchLabTraceCli(labDir: string, runs: number, args: readonly string[]): ProcessFigures {
  return timeNode([CLI, "--lab", labDir, ...args], runs);
}

if (process.argv[1]?.endsWith("cli.ts") === true) {
  const s = benchStartup(9);
  const row = (name: string, f: ProcessFigures) =>
    `  ${name.padEnd(24)} ${f.ms.toFixed(0).padStart(5)} ms  ${f.maxRssMb.toFixed(0).padStart(4)} MiB`;
  console.log(row("node -e 0", s.node));
  console.log(row("ovnkube-trace --version", s.version));
  console.log(row("ovnkube-trace --help", s.help));
}
