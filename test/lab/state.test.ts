import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { existingNetns } from "../../src/lab/netns.js";
import { isOurs } from "../../src/ovs/daemon.js";
import { newLabDir, processesUnder } from "../helpers/lab.js";

describe("a lab's state file lets the tool stop only what it started", () => {
  let a: LabState;
  beforeAll(async () => {
    a = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
  });
  afterAll(async () => {
    await labDown(a.dir);
  });

  it("a forged lab.json naming another lab's daemons and namespaces stops and deletes nothing of it", async () => {
    const b = newLabDir();
    const forged = { ...a, dir: b, phase: "up" };
    writeFileSync(labLayout(b).stateFile, JSON.stringify(forged));
    expect(await labDown(b)).toBe(0);
    expect(a.daemons.every((d) => isOurs(d))).toBe(true);
    expect(existingNetns(a.dir).sort()).toEqual((a.netns ?? []).map((n) => n.name).sort());
  });

  it("records that point inside the forged lab at another lab's pids, or at other programs, are not ours", async () => {
    const b = newLabDir();
    mkdirSync(join(b, "n"), { recursive: true });
    const theirs = a.daemons.map((d) => ({ ...d, dir: join(b, "n") }));
    const strangers = [{ program: "node", pid: process.pid, dir: join(b, "n"), role: "fabric", owner: "x" }];
    writeFileSync(
      labLayout(b).stateFile,
      JSON.stringify({ ...a, dir: b, daemons: [...theirs, ...strangers] }),
    );
    // pidfiles in the forged lab naming the other lab's daemons: not ours either (their OVS_RUNDIR differs)
    for (const d of a.daemons.slice(0, 3)) writeFileSync(join(b, "n", `${d.program}.pid`), String(d.pid));
    expect(await labDown(b)).toBe(0);
    expect(a.daemons.every((d) => isOurs(d))).toBe(true);
    expect(processesUnder(a.dir).length).toBe(a.daemons.length);
  });

  it("a lab.json cut short (an interrupted up) still lets lab down stop what runs from the lab's directory", async () => {
    const c = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"), newLabDir())).state;
    writeFileSync(labLayout(c.dir).stateFile, '{ "version": 1, "dir"');
    expect(processesUnder(c.dir).length).toBe(c.daemons.length);
    expect(await labDown(c.dir)).toBe(c.daemons.length);
    expect(processesUnder(c.dir)).toEqual([]);
    expect(existingNetns(c.dir)).toEqual([]);
  });
});
