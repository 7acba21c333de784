import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import type { TlvMapDocument } from "../../src/model/openflow.js";
import { ParseError } from "../../src/parsers/parse-error.js";
import { looksLikeTlvMap, parseTlvMap } from "../../src/parsers/tlv-map.js";

// Fixtures and their sources: test/fixtures/openflow/README.md.
function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/openflow/${name}`, import.meta.url), "utf8");
}

const OVN = fixture("ovn-worker_br-int.tlv-map.txt");
const EMPTY = fixture("lab_br-edge.tlv-map.empty.txt");
const THREE = fixture("lab_br-edge.tlv-map.three.txt");
const ALL = { OVN, EMPTY, THREE };

function contentLines(text: string): number[] {
  return text
    .split(/\r?\n/)
    .map((l, i) => (l.trim() === "" ? 0 : i + 1))
    .filter((n) => n > 0);
}

function accountedLines(doc: TlvMapDocument): number[] {
  const sources = [
    ...doc.headers.map((h) => h.source),
    ...(doc.limits === undefined ? [] : [doc.limits.source]),
    ...(doc.allocated === undefined ? [] : [doc.allocated.source]),
    ...doc.tableHeading,
    ...doc.mappings.map((m) => m.source),
    ...doc.unconsumed,
  ];
  return sources.map((s) => s.line).sort((a, b) => a - b);
}

describe("parseTlvMap on real outputs", () => {
  it("accounts for every line of every fixture", () => {
    for (const [name, text] of Object.entries(ALL)) {
      const doc = parseTlvMap(text);
      expect(doc.unconsumed, name).toEqual([]);
      expect(accountedLines(doc), name).toEqual(contentLines(text));
      expect(JSON.parse(JSON.stringify(doc)), name).toEqual(doc);
    }
  });

  it("reads OVN's Geneve option: class 0x102 type 0x80 length 4 → tun_metadata0", () => {
    const doc = parseTlvMap(OVN);
    expect(doc.kind).toBe("tlv-map");
    expect(doc.lineCount).toBe(8);
    expect(doc.headers[0]).toMatchObject({ message: "NXT_TLV_TABLE_REPLY", xid: "0x2" });
    expect(doc.limits).toMatchObject({ maxOptionSpace: 256, maxFields: 64 });
    expect(doc.allocated).toMatchObject({ optionSpace: 4 });
    expect(doc.tableHeading.map((s) => s.line)).toEqual([5, 6, 7]);
    expect(doc.mappings).toEqual([
      {
        kind: "tlv-mapping",
        source: { line: 8, text: "  0x102  0x80       4  tun_metadata0" },
        class: "0x102",
        type: "0x80",
        length: 4,
        field: "tun_metadata0",
        index: 0,
      },
    ]);
  });

  it("reads an empty table", () => {
    const doc = parseTlvMap(EMPTY);
    expect(doc.mappings).toEqual([]);
    expect(doc.allocated?.optionSpace).toBe(0);
  });

  it("reads several rows, with zero class and type printed without 0x", () => {
    const doc = parseTlvMap(THREE);
    expect(doc.allocated?.optionSpace).toBe(136);
    expect(doc.mappings.map((m) => [m.class, m.type, m.length, m.field, m.index])).toEqual([
      ["0xffff", "0", 4, "tun_metadata1", 1],
      ["0", "0x1", 8, "tun_metadata2", 2],
      ["0x102", "0x80", 124, "tun_metadata63", 63],
    ]);
  });
});

describe("parseTlvMap on other input", () => {
  it("returns an empty document for empty output", () => {
    expect(parseTlvMap("")).toMatchObject({ kind: "tlv-map", mappings: [], unconsumed: [], lineCount: 0 });
  });

  it("rejects text that is not a TLV map", () => {
    expect(() => parseTlvMap(fixture("ovn-worker_breth0.flows.txt"))).toThrow(ParseError);
  });

  it("rejects a row cut short, naming the line", () => {
    const cut = OVN.slice(0, OVN.indexOf("tun_metadata0"));
    expect(() => parseTlvMap(cut)).toThrow(expect.objectContaining({ line: 8 }) as Error);
  });
});

describe("looksLikeTlvMap", () => {
  it("recognizes TLV maps and nothing else", () => {
    for (const [name, text] of Object.entries(ALL)) expect(looksLikeTlvMap(text), name).toBe(true);
    expect(looksLikeTlvMap(fixture("ovn-worker_br-int.groups.txt"))).toBe(false);
    expect(looksLikeTlvMap(fixture("ovn-worker_breth0.flows.txt"))).toBe(false);
  });
});

describe("parseTlvMap fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    const random = mulberry32(0x71f);
    const sources = [...Object.values(ALL), fixture("ovn-worker_breth0.flows.txt")];
    let parsed = 0;
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      const input = mutate(random, pick(random, sources), pick(random, sources));
      try {
        const doc = parseTlvMap(input);
        expect(accountedLines(doc)).toEqual(contentLines(input));
        parsed++;
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
        rejected++;
      }
    }
    expect(parsed).toBeGreaterThan(100);
    expect(rejected).toBeGreaterThan(10);
  });
});

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function pick<T>(random: () => number, items: readonly T[]): T {
  const item = items[Math.floor(random() * items.length)];
  if (item === undefined) throw new Error("empty list");
  return item;
}

/** One random cut, shuffle, interleave or byte mutation of `text`. */
function mutate(random: () => number, text: string, other: string): string {
  const lines = text.split("\n");
  const at = (): number => Math.floor(random() * (text.length + 1));
  switch (Math.floor(random() * 6)) {
    case 0:
      return text.slice(at());
    case 1:
      return text.slice(0, at());
    case 2: {
      const [a, b] = [at(), at()].sort((x, y) => x - y);
      return text.slice(0, a) + text.slice(b);
    }
    case 3:
      return lines.sort(() => random() - 0.5).join("\n");
    case 4: {
      const others = other.split("\n");
      const merged: string[] = [];
      while (lines.length + others.length > 0) {
        const from = others.length === 0 || (lines.length > 0 && random() < 0.5) ? lines : others;
        merged.push(from.shift() ?? "");
      }
      return merged.join("\n");
    }
    default: {
      const chars = text.split(""); // the fixtures are ASCII
      const alphabet = " -=:\nx0123456789abcdef0xtun_metadata";
      for (let k = 0; k < 1 + Math.floor(random() * 8); k++) {
        chars[Math.floor(random() * chars.length)] = alphabet[Math.floor(random() * alphabet.length)] ?? "";
      }
      return chars.join("");
    }
  }
}
