import { spawn } from "node:child_process";
import { existsSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { existingNetns } from "../../src/lab/netns.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { replicaDir, stopReplica } from "../../src/snapshot/replica.js";
import { CLI } from "../helpers/cli.js";
import { newLabDir, processesUnder } from "../helpers/lab.js";

/**
 * Ctrl-C at any point of a command that starts daemons leaves nothing behind: `lab up`, `snapshot start` and a
 * `--snapshot` trace (whose replica is started for the run) each interrupted RUNS times at spread-out moments;
 * after each, no process runs from the lab's or replica's directory, no network namespace of the lab is left,
 * and the matching stop command succeeds.
 */
const RUNS = 20;

/** Runs the CLI, sends SIGINT after `afterMs`, and resolves with its exit code (null: killed) once it has exited. */
function interrupted(args: readonly string[], afterMs: number): Promise<number | null> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: "ignore" });
    const timer = setTimeout(() => child.kill("SIGINT"), afterMs);
    child.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
}

/** Spread over what the command does: early (during start-up), middle, late, after it ended. */
const delay = (i: number): number => 40 + ((i * 7919) % 1600);

describe("an interrupt stops what the command started", () => {
  let state: LabState;
  let snap: string;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    snap = join(newLabDir(), "snap");
    const b = LabBackend.open(state.dir);
    await collectFromBackend(b, { out: snap, source: { kind: "lab", description: "interrupt test" } });
    await b.close();
  });
  afterAll(async () => {
    await stopReplica(snap);
    await labDown(state.dir);
  });

  it(`lab up, interrupted ${String(RUNS)} times: no daemon, no namespace left; lab down succeeds`, async () => {
    for (let i = 0; i < RUNS; i++) {
      const dir = newLabDir();
      const code = await interrupted(["lab", "up", "--dir", dir], delay(i));
      // interrupted (130; null: killed before the CLI had loaded, so before it started anything), or it had
      // finished (0) and the lab is simply up
      expect([0, 130, null], `run ${String(i)}`).toContain(code);
      if (code !== 0) {
        expect(processesUnder(dir), `run ${String(i)}: daemons left`).toEqual([]);
        expect(existingNetns(dir), `run ${String(i)}: namespaces left`).toEqual([]);
      }
      await labDown(dir);
      expect(processesUnder(dir)).toEqual([]);
      expect(existsSync(join(dir, "lab.json"))).toBe(false);
    }
  });

  it(`snapshot start, interrupted ${String(RUNS)} times: no replica daemon left; snapshot stop succeeds`, async () => {
    const dir = replicaDir(snap);
    for (let i = 0; i < RUNS; i++) {
      const code = await interrupted(["snapshot", "start", snap], delay(i) / 2);
      expect([0, 130, null], `run ${String(i)}`).toContain(code);
      if (code !== 0) expect(processesUnder(dir), `run ${String(i)}: daemons left`).toEqual([]);
      await stopReplica(snap);
      expect(processesUnder(dir)).toEqual([]);
    }
  });

  it(`a matrix (ovn-trace daemons for every cell), interrupted ${String(RUNS)} times: no daemon left`, async () => {
    const dir = join(state.dir, "ovn-trace");
    const matrix = ["matrix", "--lab", state.dir, "-A", "--services", "--port", "tcp/8080,udp/53,tcp/80"];
    let cut = 0;
    for (let i = 0; i < RUNS; i++) {
      const code = await interrupted(matrix, delay(i));
      expect([0, 130, null], `run ${String(i)}`).toContain(code);
      if (code === 130) cut++;
      expect(processesUnder(dir), `run ${String(i)}: ovn-trace daemons left`).toEqual([]);
    }
    // some runs were cut while their daemons ran
    expect(cut).toBeGreaterThan(0);
  });

  it(`a --snapshot trace, interrupted ${String(RUNS)} times: its replica is stopped`, async () => {
    const dir = replicaDir(snap);
    const trace = ["--snapshot", snap, "-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"];
    for (let i = 0; i < RUNS; i++) {
      const code = await interrupted(trace, delay(i));
      // interrupted, or it had finished: success (0) is the only way a trace of this allowed port ends
      expect([0, 130, null], `run ${String(i)}`).toContain(code);
      // a finished trace stopped its replica itself before exiting; an interrupted one had it stopped
      expect(processesUnder(dir), `run ${String(i)}: daemons left`).toEqual([]);
    }
  });
});
