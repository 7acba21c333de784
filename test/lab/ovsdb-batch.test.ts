import { describe, expect, it } from "vitest";
import { CtlBatch } from "../../src/lab/ovsdb-batch.js";

describe("CtlBatch.argvChunks", () => {
  const batch = (): CtlBatch => {
    const b = new CtlBatch();
    for (let i = 0; i < 200; i++) {
      b.add(`--id=@lb${String(i)}`, "create", "load_balancer", `name="lb-${String(i)}-${"x".repeat(50)}"`);
      b.add("add", "load_balancer_group", "clusterLBGroup", "load_balancer", `@lb${String(i)}`);
      if (i % 10 === 0) b.add("ls-add", `sw${String(i)}`);
    }
    return b;
  };
  /** The commands of a command line (after the program and its option), each as one string. */
  const commands = (argv: readonly string[]): string[] =>
    argv
      .slice(2)
      .join(" ")
      .split(/(?:^| )-- /)
      .filter((c) => c !== "");

  it("is the batch's argv when it fits", () => {
    const b = batch();
    expect(b.argvChunks("ovn-nbctl", ["--timeout=9"])).toEqual([b.argv("ovn-nbctl", ["--timeout=9"])]);
  });

  it("cuts a large batch into command lines under the limit, in order, never between an @id and its use", () => {
    const b = batch();
    const chunks = b.argvChunks("ovn-nbctl", ["--timeout=9"], 2000);
    expect(chunks.length).toBeGreaterThan(5);
    for (const c of chunks) {
      expect(c.slice(0, 2)).toEqual(["ovn-nbctl", "--timeout=9"]);
      expect(c.reduce((n, a) => n + a.length + 1, 0)).toBeLessThanOrEqual(2000);
      const defined = new Set(c.filter((a) => a.startsWith("--id=@")).map((a) => a.slice(5)));
      for (const a of c) for (const id of a.match(/^@lb\d+$/g) ?? []) expect(defined.has(id)).toBe(true);
    }
    expect(chunks.flatMap(commands)).toEqual(commands(b.argv("ovn-nbctl", ["--timeout=9"])));
  });

  it("keeps a run whose ids are used further on whole, however long", () => {
    const b = new CtlBatch();
    for (let i = 0; i < 50; i++) b.add(`--id=@e${String(i)}`, "create", "encap", `ip="${"1".repeat(40)}"`);
    b.add(
      "create",
      "chassis",
      `encaps=[${Array.from({ length: 50 }, (_, i) => `@e${String(i)}`).join(",")}]`,
    );
    b.add("ls-add", "after");
    const chunks = b.argvChunks("ovn-sbctl", [], 500);
    expect(chunks).toHaveLength(2);
    expect(chunks[1]).toEqual(["ovn-sbctl", "--", "ls-add", "after"]);
  });
});
