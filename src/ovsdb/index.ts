/**
 * Helpers over an {@link OvsdbDatabase}: a uuid index of every row, reference following, and typed
 * column accessors (external_ids, options, sets, optional references) that hide the OVSDB value shapes.
 */

import type {
  OvsdbAtom,
  OvsdbDatabase,
  OvsdbMap,
  OvsdbRow,
  OvsdbRowRef,
  OvsdbValue,
} from "../model/ovsdb.js";

import { shardRowsWithPrefix } from "./table-shards.js";

export * from "./atom-order.js";
export * from "./file.js";

/** uuid → { table, row } for every row of every table. */
export type OvsdbUuidIndex = Readonly<Record<string, OvsdbRowRef>>;

export function indexRowsByUuid(db: OvsdbDatabase): OvsdbUuidIndex {
  const index: Record<string, OvsdbRowRef> = {};
  for (const [table, rows] of Object.entries(db.tables)) {
    for (const row of Object.values(rows)) index[row.uuid] = { table, row };
  }
  return index;
}

export function lookupUuid(index: OvsdbUuidIndex, uuid: string): OvsdbRowRef | undefined {
  const key = uuid.toLowerCase();
  return Object.hasOwn(index, key) ? index[key] : undefined;
}

/** Rows of a table in file order of insertion (empty for an unknown table). */
export function tableRows(db: OvsdbDatabase, table: string): readonly OvsdbRow[] {
  return Object.hasOwn(db.tables, table) ? Object.values(db.tables[table] ?? {}) : [];
}

/** The row of a table with that uuid; undefined for a non-uuid atom (an unset optional reference). */
export function rowByUuid(
  db: OvsdbDatabase,
  table: string,
  uuid: OvsdbAtom | undefined,
): OvsdbRow | undefined {
  if (typeof uuid !== "string") return undefined;
  const key = uuid.toLowerCase();
  const sharded = shardRowsWithPrefix(db, table, key);
  if (sharded !== undefined) return sharded.find((e) => e.row.uuid === key)?.row;
  const rows = Object.hasOwn(db.tables, table) ? db.tables[table] : undefined;
  return rows !== undefined && Object.hasOwn(rows, key) ? rows[key] : undefined;
}

/** The rows of a table that uuids point at, in their order; dangling references are skipped. */
export function rowsByUuids(db: OvsdbDatabase, table: string, uuids: readonly OvsdbAtom[]): OvsdbRow[] {
  return uuids.map((u) => rowByUuid(db, table, u)).filter((r): r is OvsdbRow => r !== undefined);
}

/** Rows whose `name` column (scalar or optional) equals `name`. */
export function rowsByName(db: OvsdbDatabase, table: string, name: string): readonly OvsdbRow[] {
  return tableRows(db, table).filter((row) => stringColumn(row, "name") === name);
}

export function columnValue(row: OvsdbRow, column: string): OvsdbValue | undefined {
  return Object.hasOwn(row.columns, column) ? row.columns[column] : undefined;
}

function isMap(v: OvsdbValue | undefined): v is OvsdbMap {
  return typeof v === "object" && !Array.isArray(v);
}

function isAtomList(v: OvsdbValue): v is readonly OvsdbAtom[] {
  return Array.isArray(v);
}

/** A map column (empty when absent or not a map). */
export function mapColumn(row: OvsdbRow, column: string): OvsdbMap {
  const v = columnValue(row, column);
  return isMap(v) ? v : {};
}

/** A string→string map column such as external_ids, with non-string values printed as OVSDB does. */
export function stringMap(row: OvsdbRow, column: string): Readonly<Record<string, string>> {
  return Object.fromEntries(Object.entries(mapColumn(row, column)).map(([k, v]) => [k, String(v)]));
}

export function externalIds(row: OvsdbRow): Readonly<Record<string, string>> {
  return stringMap(row, "external_ids");
}

export function otherConfig(row: OvsdbRow): Readonly<Record<string, string>> {
  return stringMap(row, "other_config");
}

export function options(row: OvsdbRow): Readonly<Record<string, string>> {
  return stringMap(row, "options");
}

/** The atoms of a column: a set as is, a scalar as a one-element list, a map's keys. */
export function setColumn(row: OvsdbRow, column: string): readonly OvsdbAtom[] {
  const v = columnValue(row, column);
  if (v === undefined) return [];
  if (isAtomList(v)) return v;
  if (isMap(v)) return Object.keys(v);
  return [v];
}

/** The single atom of a scalar column, or of an optional (min 0, max 1) column when set. */
export function optionalAtom(row: OvsdbRow, column: string): OvsdbAtom | undefined {
  const atoms = setColumn(row, column);
  return atoms.length === 1 && !isMap(columnValue(row, column)) ? atoms[0] : undefined;
}

export function stringColumn(row: OvsdbRow, column: string): string | undefined {
  const v = optionalAtom(row, column);
  return typeof v === "string" ? v : undefined;
}

export function numberColumn(row: OvsdbRow, column: string): number | undefined {
  const v = optionalAtom(row, column);
  return typeof v === "number" ? v : undefined;
}

export function booleanColumn(row: OvsdbRow, column: string): boolean | undefined {
  const v = optionalAtom(row, column);
  return typeof v === "boolean" ? v : undefined;
}

/**
 * The rows a uuid column points at (for a map, its uuid keys and values), using the schema's refTable;
 * dangling references are skipped.
 */
export function followRefs(
  db: OvsdbDatabase,
  index: OvsdbUuidIndex,
  row: OvsdbRow,
  column: string,
): OvsdbRowRef[] {
  const col = db.schema.tables[row.table]?.columns[column];
  if (col === undefined) return [];
  const v = columnValue(row, column);
  const uuids: OvsdbAtom[] = [];
  if (col.key.type === "uuid") uuids.push(...setColumn(row, column));
  if (col.value?.type === "uuid" && isMap(v)) uuids.push(...Object.values(v));
  const refs: OvsdbRowRef[] = [];
  for (const uuid of uuids) {
    const ref = typeof uuid === "string" ? lookupUuid(index, uuid) : undefined;
    if (ref !== undefined) refs.push(ref);
  }
  return refs;
}
