import { describe, expect, it } from "vitest";
import { run } from "../../src/ovs/exec.js";

describe("run", () => {
  it("a timeout ends the command and what it started, at once (a child holding the pipes does not delay it)", async () => {
    const t0 = performance.now();
    const r = await run(["/bin/sh", "-c", "sleep 30; echo late"], { timeoutMs: 300 });
    expect(r.timedOut).toBe(true);
    expect(r.stdout).toBe("");
    expect(performance.now() - t0).toBeLessThan(10_000);
  });

  it("a command that ends in time is data: exit code and output", async () => {
    const r = await run(["/bin/sh", "-c", "echo out; echo err >&2; exit 3"], { timeoutMs: 10_000 });
    expect(r).toMatchObject({ exitCode: 3, stdout: "out\n", stderr: "err\n", timedOut: false });
  });
});
