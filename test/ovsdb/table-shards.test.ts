import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { afterAll, describe, expect, it } from "vitest";
import { COOKIE_TABLES, rowByCookie, rowsByUuidPrefix } from "../../src/explain/ovn-index.js";
import type { OvsdbDatabase } from "../../src/model/ovsdb.js";
import { readOvsdbFile } from "../../src/ovsdb/file.js";
import { rowByUuid, tableRows } from "../../src/ovsdb/index.js";
import { openTableShards, shardRowsWithPrefix, writeTableShards } from "../../src/ovsdb/table-shards.js";
import { fixtureBytes } from "../helpers/fixtures.js";

// A real SB of the lab (OVN 23.03), see test/fixtures/ovsdb/README.md; every table sharded (threshold 1)
const SB = readOvsdbFile(new Uint8Array(gunzipSync(fixtureBytes("ovsdb/lab-ovnsb_db.db.gz"))));
const root = mkdtempSync("/tmp/otb-shards-");
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

let n = 0;
function sharded(db: OvsdbDatabase, minRows = 1): OvsdbDatabase {
  const dir = join(root, String(n++));
  writeTableShards(db, dir, minRows);
  const opened = openTableShards(dir);
  if (opened === undefined) throw new Error(`no shards in ${dir}`);
  return opened;
}

const tablesWithRows = Object.keys(SB.tables).filter((t) => tableRows(SB, t).length > 0);

describe("table shards", () => {
  it("the fixture has the tables a trace looks up, with rows", () => {
    expect(tablesWithRows).toEqual(
      expect.arrayContaining(["Logical_Flow", "Port_Binding", "Datapath_Binding"]),
    );
    expect(tableRows(SB, "Logical_Flow").length).toBeGreaterThan(500);
  });

  it("prefix lookups read the rows readOvsdbFile has, in uuid order, with their places", () => {
    const db = sharded(SB);
    for (const table of tablesWithRows) {
      const rows = tableRows(SB, table);
      for (const [position, row] of rows.entries()) {
        for (const prefix of [row.uuid.slice(0, 3), row.uuid.slice(0, 8), row.uuid]) {
          const want = rows
            .map((r, p) => ({ uuid: r.uuid, p }))
            .filter((r) => r.uuid.startsWith(prefix))
            .sort((a, b) => (a.uuid < b.uuid ? -1 : 1));
          const got = shardRowsWithPrefix(db, table, prefix);
          expect(
            got?.map((e) => ({ uuid: e.row.uuid, p: e.position })),
            `${table} ${prefix}`,
          ).toEqual(want);
        }
        expect(rowByUuid(db, table, row.uuid), `${table} ${row.uuid}`).toEqual(row);
        if (position > 20) break;
      }
    }
    expect(rowByUuid(db, "Logical_Flow", "ffffffff-ffff-ffff-ffff-ffffffffffff")).toBeUndefined();
    expect(shardRowsWithPrefix(db, "Logical_Flow", "ab")).toBeUndefined();
  });

  it("cookie lookups (detrace, drops) answer as on the whole database", () => {
    const db = sharded(SB);
    const cookies = COOKIE_TABLES.flatMap((t) => tableRows(SB, t).map((r) => `0x${r.uuid.slice(0, 8)}`));
    expect(cookies.length).toBeGreaterThan(500);
    for (const cookie of cookies) {
      expect(rowByCookie(db, COOKIE_TABLES, cookie)?.uuid, cookie).toBe(
        rowByCookie(SB, COOKIE_TABLES, cookie)?.uuid,
      );
      expect(rowsByUuidPrefix(db, "Logical_Flow", cookie.slice(2)).map((r) => r.uuid)).toEqual(
        rowsByUuidPrefix(SB, "Logical_Flow", cookie.slice(2)).map((r) => r.uuid),
      );
    }
  });

  it("a table read whole is the one readOvsdbFile gives, in its order, with the rows lookups returned", () => {
    const db = sharded(SB);
    const first = tableRows(SB, "Logical_Flow")[0];
    const looked = first === undefined ? undefined : rowByUuid(db, "Logical_Flow", first.uuid);
    expect(Object.keys(db.tables)).toEqual(Object.keys(SB.tables));
    for (const table of Object.keys(SB.tables)) {
      expect(Object.keys(db.tables[table] ?? {}), table).toEqual(Object.keys(SB.tables[table] ?? {}));
    }
    expect(JSON.parse(JSON.stringify(db))).toEqual(JSON.parse(JSON.stringify(SB)));
    expect(looked).toBeDefined();
    expect(db.tables.Logical_Flow?.[first?.uuid ?? ""]).toBe(looked);
    // once whole, lookups use the table as read
    expect(shardRowsWithPrefix(db, "Logical_Flow", first?.uuid ?? "")).toBeUndefined();
    expect(rowByUuid(db, "Logical_Flow", first?.uuid)).toBe(looked);
  });

  it("only tables of at least the threshold's rows are sharded", () => {
    const db = sharded(SB, 500);
    const lf = tableRows(SB, "Logical_Flow")[0]?.uuid ?? "";
    const pb = tableRows(SB, "Port_Binding")[0]?.uuid ?? "";
    expect(shardRowsWithPrefix(db, "Logical_Flow", lf)).toHaveLength(1);
    expect(shardRowsWithPrefix(db, "Port_Binding", pb)).toBeUndefined();
    expect(rowByUuid(db, "Port_Binding", pb)).toEqual(rowByUuid(SB, "Port_Binding", pb));
  });

  it("a shard that is gone is one clear error, not a stack of fs calls", () => {
    const dir = join(root, "gone");
    writeTableShards(SB, dir, 500);
    const db = openTableShards(dir);
    rmSync(join(dir, "Logical_Flow.rows"));
    const uuid = tableRows(SB, "Logical_Flow")[0]?.uuid;
    expect(() => db && rowByUuid(db, "Logical_Flow", uuid)).toThrow(
      new RegExp(`^the table shards in ${dir} do not read \\(ENOENT`),
    );
  });

  it("a directory without shards, or with shards of another format, opens as none", () => {
    const empty = join(root, "empty");
    expect(openTableShards(empty)).toBeUndefined();
    const dir = join(root, "other");
    writeTableShards(SB, dir, 1);
    expect(openTableShards(dir)).toBeDefined();
    writeFileSync(join(dir, "meta.json"), JSON.stringify({ format: 0 }));
    expect(openTableShards(dir)).toBeUndefined();
  });
});
