import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";
import { tableRows } from "../ovsdb/index.js";
import { shardRowsWithPrefix } from "../ovsdb/table-shards.js";

/**
 * OVN's uuid-prefix references: an OpenFlow cookie is the first 32 bits of the uuid of the Southbound row
 * its flow was translated from (a Logical_Flow, or a Port_Binding, Multicast_Group... for the flows
 * ovn-controller writes for them), and a logical flow's stage-hint the first 32 bits of the Northbound row
 * it implements. Each table gets a uuid-sorted index, built once per database object and kept for later
 * calls, so a lookup is a binary search.
 */

/** The Southbound tables whose uuids OVN puts in OpenFlow cookies, in the order ovn-detrace looks in them. */
export const COOKIE_TABLES = [
  "Logical_Flow",
  "Port_Binding",
  "MAC_Binding",
  "Multicast_Group",
  "Chassis",
  "Load_Balancer",
] as const;

export type CookieTable = (typeof COOKIE_TABLES)[number];

/** `0x1a2b`, a stage-hint or a whole uuid → `00001a2b`: the 8 hex digits its row's uuid starts with. */
export function uuidPrefixOf(cookieOrUuid: string): string {
  return cookieOrUuid.replace(/^0x/i, "").toLowerCase().padStart(8, "0").slice(0, 8);
}

/** A row of a table's index, with its position in the table (the order of its rows in the database). */
interface IndexedRow {
  readonly row: OvsdbRow;
  readonly position: number;
}

const indexCache = new WeakMap<OvsdbDatabase, Map<string, readonly IndexedRow[]>>();

/** The table's rows sorted by uuid. */
function uuidIndex(db: OvsdbDatabase, table: string): readonly IndexedRow[] {
  let perDb = indexCache.get(db);
  if (perDb === undefined) indexCache.set(db, (perDb = new Map<string, readonly IndexedRow[]>()));
  let index = perDb.get(table);
  if (index === undefined) {
    const rows = tableRows(db, table).map((row, position) => ({ row, position }));
    rows.sort((a, b) => (a.row.uuid < b.row.uuid ? -1 : a.row.uuid > b.row.uuid ? 1 : 0));
    perDb.set(table, (index = rows));
  }
  return index;
}

function withUuidPrefix(db: OvsdbDatabase, table: string, prefix: string): readonly IndexedRow[] {
  const sharded = shardRowsWithPrefix(db, table, prefix);
  if (sharded !== undefined) return sharded;
  const index = uuidIndex(db, table);
  let lo = 0;
  let hi = index.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((index[mid]?.row.uuid ?? "") < prefix) lo = mid + 1;
    else hi = mid;
  }
  let end = lo;
  while (index[end]?.row.uuid.startsWith(prefix) === true) end++;
  return index.slice(lo, end);
}

/** Rows of a table whose uuid starts with `prefix` as given (case-sensitive, unpadded), in uuid order. */
export function rowsByUuidPrefix(db: OvsdbDatabase, table: string, prefix: string): OvsdbRow[] {
  return withUuidPrefix(db, table, prefix).map((e) => e.row);
}

/**
 * The row an OpenFlow cookie or a stage-hint points at (read by {@link uuidPrefixOf}), in the first of
 * `tables` that has one. Of rows of one table that share the prefix, the first in the table's order.
 */
export function rowByCookie(
  db: OvsdbDatabase,
  tables: readonly string[],
  cookie: string,
): OvsdbRow | undefined {
  const prefix = uuidPrefixOf(cookie);
  for (const table of tables) {
    const first = withUuidPrefix(db, table, prefix).reduce<IndexedRow | undefined>(
      (a, b) => (a === undefined || b.position < a.position ? b : a),
      undefined,
    );
    if (first !== undefined) return first.row;
  }
  return undefined;
}
