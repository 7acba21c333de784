import { describe, expect, it } from "vitest";
import { pool, waitFor } from "../../src/lab/wait.js";

describe("pool", () => {
  it("runs every item, never more than the limit at a time", async () => {
    let running = 0;
    let most = 0;
    const done: number[] = [];
    await pool([1, 2, 3, 4, 5, 6, 7], 3, async (x) => {
      running++;
      most = Math.max(most, running);
      await new Promise((r) => setTimeout(r, 5));
      done.push(x);
      running--;
    });
    expect(done.sort()).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(most).toBe(3);
  });

  it("starts nothing after a failure, waits for those under way, and rejects with the first failure", async () => {
    const started: number[] = [];
    let finished = 0;
    const run = pool([1, 2, 3, 4, 5, 6], 2, async (x) => {
      started.push(x);
      await new Promise((r) => setTimeout(r, x === 1 ? 1 : 20));
      finished++;
      if (x === 1) throw new Error("one failed");
    });
    await expect(run).rejects.toThrow("one failed");
    expect(started).toEqual([1, 2]);
    expect(finished).toBe(2);
  });
});

describe("waitFor", () => {
  const self = { program: "node", pid: process.pid, dir: "/", owner: "test" };

  it("returns once the check says done", async () => {
    let n = 0;
    await waitFor("three checks", [], [self], () => Promise.resolve(++n === 3 || `${String(n)}/3`), {
      budgetMs: 60_000,
    });
    expect(n).toBe(3);
  });

  it("fails past its budget, saying what it waited for and how far it got", async () => {
    await expect(
      waitFor("the impossible", [], [self], () => Promise.resolve("0/1"), { budgetMs: 0 }),
    ).rejects.toThrow(/timed out waiting for the impossible \(0\/1\)/);
  });

  it("fails at once when a daemon it watches is gone", async () => {
    const gone = { program: "ovn-northd", pid: 2 ** 22 + 1, dir: "/tmp/x", owner: "global" };
    await expect(
      waitFor("northd", [], [gone], () => Promise.resolve(false), { budgetMs: 60_000 }),
    ).rejects.toThrow(/global\/ovn-northd exited/);
  });
});
