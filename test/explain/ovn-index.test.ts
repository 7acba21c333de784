import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import { COOKIE_TABLES, rowByCookie, rowsByUuidPrefix, uuidPrefixOf } from "../../src/explain/ovn-index.js";
import type { OvsdbDatabase, OvsdbRow } from "../../src/model/ovsdb.js";
import { compareAtoms, readOvsdbFile, rowByUuid, rowsByUuids, tableRows } from "../../src/ovsdb/index.js";
import { fixtureBytes } from "../helpers/fixtures.js";

// The lab's SB as ovn-northd wrote it (see test/fixtures/ovsdb/README.md).
const SB = readOvsdbFile(new Uint8Array(gunzipSync(fixtureBytes("ovsdb/lab-ovnsb_db.db.gz"))));

/** The database with `extra` rows added to a table, before or after its own. */
function withRows(
  db: OvsdbDatabase,
  table: string,
  extra: readonly OvsdbRow[],
  first: boolean,
): OvsdbDatabase {
  const added = Object.fromEntries(extra.map((r) => [r.uuid, r]));
  const own = db.tables[table] ?? {};
  return { ...db, tables: { ...db.tables, [table]: first ? { ...added, ...own } : { ...own, ...added } } };
}

/** A copy of a row under another uuid with the same first 8 digits (a cookie collision). */
function twin(row: OvsdbRow, fill: string): OvsdbRow {
  const uuid = `${row.uuid.slice(0, 9)}${fill.repeat(4)}${row.uuid.slice(13)}`;
  return { ...row, uuid };
}

describe("OVN uuid-prefix index", () => {
  it("reads a cookie, a stage-hint or a uuid as the 8 hex digits a row's uuid starts with", () => {
    expect(uuidPrefixOf("0x1a2b")).toBe("00001a2b");
    expect(uuidPrefixOf("0xDEADBEEF")).toBe("deadbeef");
    expect(uuidPrefixOf("deadbeef")).toBe("deadbeef");
    expect(uuidPrefixOf("3f1c5d2e-0000-4000-8000-000000000000")).toBe("3f1c5d2e");
  });

  it("finds every logical flow by its cookie, and nothing for a cookie no row has", () => {
    const flows = tableRows(SB, "Logical_Flow");
    expect(flows.length).toBeGreaterThan(100);
    for (const lf of flows) {
      const cookie = `0x${lf.uuid.slice(0, 8).replace(/^0+/, "")}`;
      expect(rowByCookie(SB, COOKIE_TABLES, cookie)?.uuid.slice(0, 8)).toBe(lf.uuid.slice(0, 8));
    }
    const taken = new Set(flows.map((r) => r.uuid.slice(0, 8)));
    const free = ["00000000", "ffffffff", "deadbeef"].find((p) => !taken.has(p)) ?? "";
    expect(rowByCookie(SB, ["Logical_Flow"], free)).toBeUndefined();
  });

  it("looks in the tables in the order given", () => {
    const pb = tableRows(SB, "Port_Binding")[0];
    expect(pb).toBeDefined();
    if (pb === undefined) return;
    expect(rowByCookie(SB, ["Logical_Flow", "Port_Binding"], pb.uuid)).toBe(pb);
    expect(rowByCookie(SB, ["Logical_Flow"], pb.uuid)).toBeUndefined();
  });

  it("on a prefix collision: every row in uuid order, or the first in the table's order", () => {
    const lf = tableRows(SB, "Logical_Flow")[0];
    expect(lf).toBeDefined();
    if (lf === undefined) return;
    const low = twin(lf, "0");
    const high = twin(lf, "f");
    for (const first of [true, false]) {
      const db = withRows(SB, "Logical_Flow", [high, low], first);
      const all = rowsByUuidPrefix(db, "Logical_Flow", lf.uuid.slice(0, 8)).map((r) => r.uuid);
      expect(all).toEqual([lf.uuid, low.uuid, high.uuid].sort());
      expect(rowByCookie(db, ["Logical_Flow"], lf.uuid)?.uuid).toBe(first ? high.uuid : lf.uuid);
    }
  });

  it("matches a prefix as given: case-sensitive, unpadded (as ovn-detrace's str(uuid).startswith)", () => {
    const lf = tableRows(SB, "Logical_Flow")[0];
    if (lf === undefined) return;
    expect(rowsByUuidPrefix(SB, "Logical_Flow", lf.uuid.slice(0, 8))).toContain(lf);
    expect(rowsByUuidPrefix(SB, "Logical_Flow", lf.uuid.slice(0, 8).toUpperCase())).toEqual(
      /[a-f]/.test(lf.uuid.slice(0, 8)) ? [] : [lf],
    );
    expect(rowsByUuidPrefix(SB, "No_Such_Table", "0")).toEqual([]);
  });
});

describe("rows by uuid and atom order", () => {
  it("follows uuids to rows, skipping dangling ones and non-uuid atoms", () => {
    const [a, b] = tableRows(SB, "Datapath_Binding");
    expect(a).toBeDefined();
    if (a === undefined || b === undefined) return;
    expect(rowByUuid(SB, "Datapath_Binding", a.uuid.toUpperCase())).toBe(a);
    expect(rowByUuid(SB, "Datapath_Binding", undefined)).toBeUndefined();
    expect(rowByUuid(SB, "Datapath_Binding", 7)).toBeUndefined();
    const dangling = "00000000-0000-4000-8000-000000000000";
    expect(rowsByUuids(SB, "Datapath_Binding", [b.uuid, dangling, a.uuid])).toEqual([b, a]);
  });

  it("orders strings by code point (as OVSDB and Python do), numbers numerically, false before true", () => {
    const astral = "\u{1F600}";
    const bmp = "\uFFFD";
    // UTF-16 units put the astral character first; code points put it last
    expect([astral, bmp].sort()).toEqual([astral, bmp]);
    expect([astral, bmp].sort(compareAtoms)).toEqual([bmp, astral]);
    expect(["b", "a", "ab", ""].sort(compareAtoms)).toEqual(["", "a", "ab", "b"]);
    expect([10, 9, -1, 2.5].sort(compareAtoms)).toEqual([-1, 2.5, 9, 10]);
    expect([true, false].sort(compareAtoms)).toEqual([false, true]);
  });
});
