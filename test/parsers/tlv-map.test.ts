import { describe, expect, it } from "vitest";
import type { TlvMapDocument } from "../../src/model/openflow.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeTlvMap, parseTlvMap } from "../../src/parsers/tlv-map.js";
import { expectLosslessParses, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/openflow/README.md.
function fixture(name: string): string {
  return fixtureText(`openflow/${name}`);
}

const OVN = fixture("ovn-worker_br-int.tlv-map.txt");
const EMPTY = fixture("lab_br-edge.tlv-map.empty.txt");
const THREE = fixture("lab_br-edge.tlv-map.three.txt");
const ALL = { OVN, EMPTY, THREE };

function accountedLines(doc: TlvMapDocument): SourceRef[] {
  return [
    ...doc.headers.map((h) => h.source),
    ...(doc.limits === undefined ? [] : [doc.limits.source]),
    ...(doc.allocated === undefined ? [] : [doc.allocated.source]),
    ...doc.tableHeading,
    ...doc.mappings.map((m) => m.source),
    ...doc.unconsumed,
  ];
}

describe("parseTlvMap on real outputs", () => {
  it("accounts for every line of every fixture", () => {
    expectLosslessParses(ALL, parseTlvMap, accountedLines);
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
    expectDamagedSamplesAccountedFor(parseTlvMap, accountedLines, {
      seed: 0x71f,
      sources: [...Object.values(ALL), fixture("ovn-worker_breth0.flows.txt")],
      alphabet: " -=:\nx0123456789abcdef0xtun_metadata",
    });
  });
});
