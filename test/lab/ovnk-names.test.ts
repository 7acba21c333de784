import { describe, expect, it } from "vitest";
import { hashForOvn, selectorString } from "../../src/lab/ovnk-names.js";

describe("ovn-kubernetes names", () => {
  it("hashes with FNV-1a 64 (published test vectors)", () => {
    // Vectors from the FNV reference (Fowler/Noll/Vo): FNV-1a 64 of "", "a", "foobar".
    expect(hashForOvn("")).toBe(`a${0xcbf29ce484222325n.toString()}`);
    expect(hashForOvn("a")).toBe(`a${0xaf63dc4c8601ec8cn.toString()}`);
    expect(hashForOvn("foobar")).toBe(`a${0x85944171f73967e8n.toString()}`);
  });

  it("formats label selectors the way address-set names embed them", () => {
    expect(selectorString(undefined)).toBe("LS{}");
    expect(selectorString({ b: "2", a: "1" })).toBe("LS{ML:{a: 1,b: 2,},}");
  });
});
