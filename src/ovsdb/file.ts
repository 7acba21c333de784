/**
 * Reader for OVSDB database files, as ovsdb-server writes them:
 *
 * - standalone: a log of `OVSDB JSON <length> <sha1>\n<length bytes of JSON>` records; record 0 is the
 *   schema, every later one a transaction `{"<Table>": {"<uuid>": row|null}, "_date", "_comment"}`.
 *   A compacted file (or an `ovsdb-client backup`) is the schema plus one transaction inserting everything.
 * - clustered: `OVSDB CLUSTER ...` records; record 0 is the RAFT header whose `prev_data` is the snapshot
 *   `[schema, data]`, later records are log entries `{"term","index","data":[schema|null, txn|null]}`
 *   and vote/leader/commit_index bookkeeping, which is only summarised.
 *
 * Rows in a transaction hold only the columns that changed. Since OVS 2.15 transactions carry
 * `"_is_diff": true` and then a set or map column with more than one possible element holds the
 * *difference* to apply, as `ovsdb_datum_apply_diff_in_place()` does: a set element toggles; a map key
 * absent is added, present with the same value is removed, present with another value is replaced.
 * Without `_is_diff` (older files) the value is the new full value.
 *
 * Each record's SHA-1 is checked. `readOvsdbFile` throws a ParseError (with `offset` = byte offset of the
 * bad record) like `ovsdb-tool` refuses a torn file; `readOvsdbFileLenient` returns the database up to the
 * last good record and the error, like `ovsdb-server`, which logs the error and drops the torn tail.
 */

import { createHash } from "node:crypto";
import type {
  OvsdbAtom,
  OvsdbAtomicType,
  OvsdbBaseType,
  OvsdbColumnSchema,
  OvsdbDatabase,
  OvsdbMap,
  OvsdbRaftInfo,
  OvsdbRecord,
  OvsdbRecordKind,
  OvsdbRow,
  OvsdbSchema,
  OvsdbTableSchema,
  OvsdbValue,
} from "../model/ovsdb.js";
import { guardParse, ParseError } from "../errors.js";
import { compareAtoms } from "./atom-order.js";

export interface ReadOvsdbOptions {
  /** Check each record's SHA-1 (default true). Skipping it is only for damaged files you still want to see. */
  readonly verifySha1?: boolean;
}

export interface OvsdbLenientResult {
  /** The database as of the last good record. */
  readonly database: OvsdbDatabase;
  /** The first bad record (truncated, corrupt, or a transaction that does not apply), if any. */
  readonly error: ParseError | null;
}

/** Reads a whole OVSDB file; any bad record is a ParseError. */
export function readOvsdbFile(buf: Uint8Array, opts: ReadOvsdbOptions = {}): OvsdbDatabase {
  return guardParse("OVSDB file", () => {
    const result = readAll(buf, opts);
    if (result.error !== null) throw result.error;
    return result.database;
  });
}

/**
 * Reads records until the first bad one and returns the database up to there, plus the error. Throws a
 * ParseError only when not even the first record (schema or RAFT header) is readable.
 */
export function readOvsdbFileLenient(buf: Uint8Array, opts: ReadOvsdbOptions = {}): OvsdbLenientResult {
  return guardParse("OVSDB file", () => readAll(buf, opts));
}

const HEADER_LINE = /^OVSDB (JSON|CLUSTER) (\d{1,15}) ([0-9a-fA-F]{40})$/;
/** `OVSDB CLUSTER ` + 15 digits + space + 40 hex digits fits in this, with room to spare. */
const MAX_HEADER_LINE = 128;

/**
 * True when the input starts like an OVSDB file record (cheap: looks at the first header line only).
 * Accepts the file's bytes or, for pasted content, its text.
 */
export function looksLikeOvsdbFile(input: Uint8Array | string): boolean {
  const head =
    typeof input === "string" ? input.slice(0, MAX_HEADER_LINE) : latin1(input.subarray(0, MAX_HEADER_LINE));
  const end = head.indexOf("\n");
  return end > 0 && HEADER_LINE.test(head.slice(0, end));
}

// ---------------------------------------------------------------------------------------------
// Framing
// ---------------------------------------------------------------------------------------------

type Magic = "JSON" | "CLUSTER";

interface FramedRecord {
  readonly index: number;
  readonly magic: Magic;
  readonly offset: number;
  readonly byteLength: number;
  readonly json: unknown;
}

/** Where a record is, for error messages. */
interface RecordPlace {
  readonly index: number;
  readonly offset: number;
  readonly excerpt: string;
}

const utf8 = new TextDecoder("utf-8", { fatal: true });

function latin1(bytes: Uint8Array): string {
  let s = "";
  for (const b of bytes) s += String.fromCharCode(b);
  return s;
}

function recordError(place: RecordPlace, message: string): ParseError {
  return new ParseError(`record ${place.index}: ${message}`, {
    offset: place.offset,
    excerpt: place.excerpt,
  });
}

function frameRecord(buf: Uint8Array, offset: number, index: number, verifySha1: boolean): FramedRecord {
  const lineEnd = buf.subarray(offset, offset + MAX_HEADER_LINE).indexOf(0x0a);
  const rawHeader = latin1(buf.subarray(offset, lineEnd < 0 ? offset + 60 : offset + lineEnd));
  const place: RecordPlace = { index, offset, excerpt: rawHeader };
  if (lineEnd < 0) {
    const reason = offset + MAX_HEADER_LINE <= buf.length ? "bad record header" : "truncated record header";
    throw recordError(place, `${reason} (expected "OVSDB JSON|CLUSTER <length> <sha1>")`);
  }
  const m = HEADER_LINE.exec(rawHeader);
  if (m === null)
    throw recordError(place, `bad record header (expected "OVSDB JSON|CLUSTER <length> <sha1>")`);
  const [, magic, lengthText, sha1] = m as unknown as [string, Magic, string, string];
  const length = Number(lengthText);
  const bodyStart = offset + lineEnd + 1;
  if (bodyStart + length > buf.length) {
    throw recordError(
      place,
      `truncated record: header promises ${length} bytes, ${buf.length - bodyStart} remain`,
    );
  }
  const body = buf.subarray(bodyStart, bodyStart + length);
  if (verifySha1) {
    const actual = createHash("sha1").update(body).digest("hex");
    if (actual !== sha1.toLowerCase()) {
      throw recordError(place, `SHA-1 mismatch: the ${length} JSON bytes hash to ${actual}`);
    }
  }
  return { index, magic, offset, byteLength: lineEnd + 1 + length, json: parseBody(body, place) };
}

function parseBody(body: Uint8Array, place: RecordPlace): unknown {
  let text: string;
  try {
    text = utf8.decode(body);
  } catch {
    throw recordError(place, "record is not valid UTF-8");
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new ParseError(`record ${place.index}: invalid JSON (${why})`, {
      offset: place.offset,
      excerpt: text.slice(0, 200),
    });
  }
}

// ---------------------------------------------------------------------------------------------
// Schema
// ---------------------------------------------------------------------------------------------

type Json = unknown;
type JsonObject = Record<string, unknown>;

const ID = /^[A-Za-z][A-Za-z0-9_]*$/;
const UUID = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/;
const ZERO_UUID = "00000000-0000-0000-0000-000000000000";
const ATOMIC_TYPES: readonly string[] = ["integer", "real", "boolean", "string", "uuid"];

function isObject(j: Json): j is JsonObject {
  return typeof j === "object" && j !== null && !Array.isArray(j);
}

/** Own keys only: JSON.parse makes "__proto__" an own key, and we never look anything up through the prototype. */
function own(o: JsonObject, key: string): unknown {
  return Object.hasOwn(o, key) ? o[key] : undefined;
}

class SchemaError extends Error {}

function parseSchema(j: Json): OvsdbSchema {
  if (!isObject(j)) throw new SchemaError("schema is not a JSON object");
  const name = own(j, "name");
  if (typeof name !== "string" || !ID.test(name)) throw new SchemaError("schema has no valid name");
  const version = own(j, "version");
  const cksum = own(j, "cksum");
  const tablesJson = own(j, "tables");
  if (!isObject(tablesJson)) throw new SchemaError(`schema "${name}" has no tables object`);
  const tables: Record<string, OvsdbTableSchema> = {};
  for (const [tableName, t] of Object.entries(tablesJson)) {
    if (!ID.test(tableName)) throw new SchemaError(`bad table name ${JSON.stringify(tableName)}`);
    tables[tableName] = parseTableSchema(tableName, t);
  }
  return {
    name,
    version: typeof version === "string" ? version : null,
    cksum: typeof cksum === "string" ? cksum : null,
    tables,
  };
}

function parseTableSchema(name: string, t: Json): OvsdbTableSchema {
  if (!isObject(t) || !isObject(own(t, "columns"))) throw new SchemaError(`table ${name} has no columns`);
  const columns: Record<string, OvsdbColumnSchema> = {};
  for (const [col, c] of Object.entries(own(t, "columns") as JsonObject)) {
    if (!ID.test(col)) throw new SchemaError(`bad column name ${JSON.stringify(col)} in table ${name}`);
    columns[col] = parseColumnSchema(`${name}.${col}`, col, c);
  }
  const indexes = own(t, "indexes");
  const maxRows = own(t, "maxRows");
  return {
    name,
    columns,
    isRoot: own(t, "isRoot") === true,
    indexes: Array.isArray(indexes)
      ? indexes.filter((ix): ix is unknown[] => Array.isArray(ix)).map((ix) => ix.map(String))
      : [],
    maxRows: typeof maxRows === "number" ? maxRows : null,
  };
}

function parseColumnSchema(where: string, name: string, c: Json): OvsdbColumnSchema {
  if (!isObject(c)) throw new SchemaError(`column ${where} is not an object`);
  const type = own(c, "type");
  const common = { name, ephemeral: own(c, "ephemeral") === true, mutable: own(c, "mutable") !== false };
  if (typeof type === "string") {
    return { ...common, shape: "atom", key: parseBaseType(where, type), min: 1, max: 1 };
  }
  if (!isObject(type)) throw new SchemaError(`column ${where} has no type`);
  const key = parseBaseType(where, own(type, "key"));
  const valueJson = own(type, "value");
  const value = valueJson === undefined ? undefined : parseBaseType(where, valueJson);
  const min = own(type, "min") ?? 1;
  const max = own(type, "max") ?? 1;
  if (typeof min !== "number" || !(typeof max === "number" || max === "unlimited")) {
    throw new SchemaError(`column ${where} has a bad min/max`);
  }
  const shape = value !== undefined ? "map" : min === 1 && max === 1 ? "atom" : "set";
  return value === undefined
    ? { ...common, shape, key, min, max }
    : { ...common, shape, key, value, min, max };
}

function parseBaseType(where: string, b: Json): OvsdbBaseType {
  const type = typeof b === "string" ? b : isObject(b) ? own(b, "type") : undefined;
  if (typeof type !== "string" || !ATOMIC_TYPES.includes(type)) {
    throw new SchemaError(`column ${where} has an unknown atomic type`);
  }
  const base: { -readonly [K in keyof OvsdbBaseType]: OvsdbBaseType[K] } = { type: type as OvsdbAtomicType };
  if (!isObject(b)) return base;
  const refTable = own(b, "refTable");
  if (typeof refTable === "string") {
    base.refTable = refTable;
    base.refType = own(b, "refType") === "weak" ? "weak" : "strong";
  }
  const e = own(b, "enum");
  if (e !== undefined) {
    const atoms = Array.isArray(e) && e[0] === "set" && Array.isArray(e[1]) ? (e[1] as unknown[]) : [e];
    base.enum = atoms.filter(
      (a): a is OvsdbAtom => typeof a === "string" || typeof a === "number" || typeof a === "boolean",
    );
  }
  return base;
}

// ---------------------------------------------------------------------------------------------
// Values
// ---------------------------------------------------------------------------------------------

/** Per-column decoding facts, computed once per schema. */
interface ColumnCodec {
  readonly name: string;
  readonly schema: OvsdbColumnSchema;
  /** Diffs apply element-wise only where a column can hold more than one element (OVS `n_max > 1`). */
  readonly composite: boolean;
  readonly defaultValue: OvsdbValue;
}

const EMPTY_SET: readonly OvsdbAtom[] = Object.freeze([]);
const EMPTY_MAP: OvsdbMap = Object.freeze({});

function codecFor(schema: OvsdbColumnSchema): ColumnCodec {
  const composite = schema.max === "unlimited" || schema.max > 1;
  const defaultValue =
    schema.shape === "map" ? EMPTY_MAP : schema.shape === "set" ? EMPTY_SET : defaultAtom(schema.key.type);
  return { name: schema.name, schema, composite, defaultValue };
}

function defaultAtom(type: OvsdbAtomicType): OvsdbAtom {
  switch (type) {
    case "integer":
    case "real":
      return 0;
    case "boolean":
      return false;
    case "string":
      return "";
    case "uuid":
      return ZERO_UUID;
  }
}

class ValueError extends Error {}

function decodeAtom(j: Json, type: OvsdbAtomicType): OvsdbAtom {
  switch (type) {
    case "string":
      if (typeof j === "string") return j;
      break;
    case "integer":
      if (typeof j === "number" && Number.isInteger(j)) return j;
      break;
    case "real":
      if (typeof j === "number") return j;
      break;
    case "boolean":
      if (typeof j === "boolean") return j;
      break;
    case "uuid":
      if (Array.isArray(j) && j.length === 2 && typeof j[1] === "string") {
        if (j[0] === "uuid" && UUID.test(j[1])) return j[1].toLowerCase();
        if (j[0] === "named-uuid" && ID.test(j[1])) return j[1];
      }
      break;
  }
  throw new ValueError(`expected ${type}, got ${brief(j)}`);
}

function brief(j: Json): string {
  const text = JSON.stringify(j) as string | undefined;
  return text === undefined ? "nothing" : text.slice(0, 80);
}

function decodeValue(j: Json, codec: ColumnCodec): OvsdbValue {
  const { schema } = codec;
  if (schema.value !== undefined) return decodeMap(j, schema.key.type, schema.value.type);
  const elements = Array.isArray(j) && j[0] === "set" ? setElements(j) : [j];
  const atoms = elements.map((e) => decodeAtom(e, schema.key.type));
  if (schema.shape === "set") return atoms;
  if (atoms.length !== 1) throw new ValueError(`expected exactly one value, got ${atoms.length}`);
  return atoms[0] as OvsdbAtom;
}

function setElements(j: unknown[]): unknown[] {
  if (j.length !== 2 || !Array.isArray(j[1])) throw new ValueError(`malformed ["set", [...]]`);
  return j[1] as unknown[];
}

function decodeMap(j: Json, keyType: OvsdbAtomicType, valueType: OvsdbAtomicType): OvsdbMap {
  if (!Array.isArray(j) || j.length !== 2 || j[0] !== "map" || !Array.isArray(j[1])) {
    throw new ValueError(`expected ["map", [[key, value], ...]], got ${brief(j)}`);
  }
  const entries = (j[1] as unknown[]).map((pair): [string, OvsdbAtom] => {
    if (!Array.isArray(pair) || pair.length !== 2)
      throw new ValueError("map entry is not a [key, value] pair");
    return [String(decodeAtom(pair[0], keyType)), decodeAtom(pair[1], valueType)];
  });
  return mapFromEntries(entries);
}

/** Object.fromEntries defines own data properties: a `__proto__` key is stored as data, never as the prototype. */
function mapFromEntries(entries: Iterable<readonly [string, OvsdbAtom]>): OvsdbMap {
  return Object.fromEntries(entries);
}

function applySetDiff(current: readonly OvsdbAtom[], diff: readonly OvsdbAtom[]): readonly OvsdbAtom[] {
  const result = new Set(current);
  for (const atom of diff) {
    if (result.has(atom)) result.delete(atom);
    else result.add(atom);
  }
  return [...result].sort(compareAtoms);
}

function applyMapDiff(current: OvsdbMap, diff: OvsdbMap): OvsdbMap {
  const result = new Map(Object.entries(current));
  for (const [key, value] of Object.entries(diff)) {
    if (result.has(key) && result.get(key) === value) result.delete(key);
    else result.set(key, value);
  }
  return mapFromEntries(result);
}

function applyDiff(current: OvsdbValue, diff: OvsdbValue): OvsdbValue {
  if (Array.isArray(current) && Array.isArray(diff)) return applySetDiff(current, diff);
  if (isMapValue(current) && isMapValue(diff)) return applyMapDiff(current, diff);
  return diff;
}

function isMapValue(v: OvsdbValue): v is OvsdbMap {
  return typeof v === "object" && !Array.isArray(v);
}

// ---------------------------------------------------------------------------------------------
// Database state and transactions
// ---------------------------------------------------------------------------------------------

interface TableState {
  readonly schema: OvsdbTableSchema;
  readonly codecs: ReadonlyMap<string, ColumnCodec>;
  readonly defaults: Readonly<Record<string, OvsdbValue>>;
  readonly rows: Map<string, OvsdbRow>;
}

interface DbState {
  schema: OvsdbSchema;
  tables: Map<string, TableState>;
}

function newDbState(schema: OvsdbSchema): DbState {
  const tables = new Map<string, TableState>();
  for (const [name, t] of Object.entries(schema.tables)) {
    const codecs = new Map(Object.values(t.columns).map((c) => [c.name, codecFor(c)] as const));
    const defaults: Record<string, OvsdbValue> = {};
    for (const c of codecs.values()) defaults[c.name] = c.defaultValue;
    tables.set(name, { schema: t, codecs, defaults, rows: new Map() });
  }
  return { schema, tables };
}

/** Keeps the rows of tables and columns the new schema still has (what `ovsdb-client convert` does). */
function convertDbState(old: DbState, schema: OvsdbSchema): DbState {
  const next = newDbState(schema);
  for (const [name, table] of next.tables) {
    const oldTable = old.tables.get(name);
    if (oldTable === undefined) continue;
    for (const [uuid, row] of oldTable.rows) {
      const columns: Record<string, OvsdbValue> = { ...table.defaults };
      for (const col of table.codecs.keys()) {
        if (oldTable.codecs.has(col) && Object.hasOwn(row.columns, col))
          columns[col] = row.columns[col] as OvsdbValue;
      }
      table.rows.set(uuid, { ...row, columns });
    }
  }
  return next;
}

interface TxnInfo {
  readonly date?: number;
  readonly comment?: string;
  readonly tables: readonly string[];
}

interface StagedChange {
  readonly table: TableState;
  readonly uuid: string;
  readonly row: OvsdbRow | null;
}

/**
 * Applies one transaction atomically: everything is checked and staged first, so a bad transaction
 * leaves the state as it was (the lenient reader then stops before it).
 */
function applyTransaction(db: DbState, txn: Json, recordIndex: number, place: RecordPlace): TxnInfo {
  if (!isObject(txn)) throw recordError(place, "transaction is not a JSON object");
  const isDiff = own(txn, "_is_diff") === true;
  const staged: StagedChange[] = [];
  const info: { date?: number; comment?: string; tables: string[] } = { tables: [] };
  for (const [key, tableJson] of Object.entries(txn)) {
    if (key === "_date" && typeof tableJson === "number") info.date = tableJson;
    else if (key === "_comment") {
      if (typeof tableJson === "string") info.comment = tableJson;
    } else if (key === "_is_diff" && typeof tableJson === "boolean") continue;
    else {
      const table = db.tables.get(key);
      if (table === undefined)
        throw recordError(place, `transaction references table "${key}", not in the schema`);
      info.tables.push(key);
      stageTableChanges(table, tableJson, isDiff, recordIndex, place, staged);
    }
  }
  for (const { table, uuid, row } of staged) {
    if (row === null) table.rows.delete(uuid);
    else table.rows.set(uuid, row);
  }
  return info;
}

function stageTableChanges(
  table: TableState,
  tableJson: Json,
  isDiff: boolean,
  recordIndex: number,
  place: RecordPlace,
  staged: StagedChange[],
): void {
  const tableName = table.schema.name;
  if (!isObject(tableJson)) throw recordError(place, `table ${tableName}: expected an object of rows`);
  for (const uuidText in tableJson) {
    const rowJson = tableJson[uuidText];
    if (!UUID.test(uuidText)) throw recordError(place, `table ${tableName}: "${uuidText}" is not a UUID`);
    const uuid = uuidText.toLowerCase();
    const old = table.rows.get(uuid);
    if (rowJson === null) {
      if (old === undefined)
        throw recordError(place, `${tableName} ${uuid}: deletes a row that does not exist`);
      staged.push({ table, uuid, row: null });
      continue;
    }
    if (!isObject(rowJson))
      throw recordError(place, `${tableName} ${uuid}: row is neither an object nor null`);
    const columns: Record<string, OvsdbValue> = { ...(old?.columns ?? table.defaults) };
    for (const col in rowJson) {
      const valueJson = rowJson[col];
      const codec = table.codecs.get(col);
      if (codec === undefined)
        throw recordError(place, `${tableName} ${uuid}: no column "${col}" in the schema`);
      columns[col] = decodeColumn(
        codec,
        valueJson,
        old === undefined ? undefined : columns[col],
        isDiff,
        place,
      );
    }
    const source = { insertedBy: old?.source.insertedBy ?? recordIndex, updatedBy: recordIndex };
    staged.push({ table, uuid, row: { uuid, table: tableName, columns, source } });
  }
}

function decodeColumn(
  codec: ColumnCodec,
  valueJson: Json,
  current: OvsdbValue | undefined,
  isDiff: boolean,
  place: RecordPlace,
): OvsdbValue {
  let value: OvsdbValue;
  try {
    value = decodeValue(valueJson, codec);
  } catch (e) {
    if (e instanceof ValueError) throw recordError(place, `column ${codec.name}: ${e.message}`);
    throw e;
  }
  return isDiff && codec.composite && current !== undefined ? applyDiff(current, value) : value;
}

function snapshotTables(db: DbState): Record<string, Record<string, OvsdbRow>> {
  const out: Record<string, Record<string, OvsdbRow>> = {};
  for (const [name, table] of db.tables) out[name] = Object.fromEntries(table.rows);
  return out;
}

// ---------------------------------------------------------------------------------------------
// Reading a whole file
// ---------------------------------------------------------------------------------------------

interface ReadResult {
  database: OvsdbDatabase;
  error: ParseError | null;
}

function readAll(buf: Uint8Array, opts: ReadOvsdbOptions): ReadResult {
  if (buf.length === 0) throw new ParseError("empty file: not an OVSDB database", { offset: 0 });
  const verifySha1 = opts.verifySha1 !== false;
  const first = frameRecord(buf, 0, 0, verifySha1);
  return first.magic === "JSON"
    ? readStandalone(buf, first, verifySha1)
    : readClustered(buf, first, verifySha1);
}

function placeOf(rec: FramedRecord, buf: Uint8Array): RecordPlace {
  const headerEnd = buf.subarray(rec.offset, rec.offset + MAX_HEADER_LINE).indexOf(0x0a);
  return {
    index: rec.index,
    offset: rec.offset,
    excerpt: latin1(buf.subarray(rec.offset, rec.offset + headerEnd)),
  };
}

/** Turns a bug or a resource error on hostile input into a ParseError that still points at the record. */
function asRecordError(e: unknown, place: RecordPlace): ParseError {
  if (e instanceof ParseError) return e;
  return new ParseError(
    `record ${place.index}: cannot read record (${e instanceof Error ? e.message : String(e)})`,
    { offset: place.offset, excerpt: place.excerpt },
    { cause: e },
  );
}

function schemaFrom(j: Json, place: RecordPlace): OvsdbSchema {
  try {
    return parseSchema(j);
  } catch (e) {
    if (e instanceof SchemaError) throw recordError(place, `bad schema: ${e.message}`);
    throw e;
  }
}

/**
 * Frames records one after another from `start`, calling `onRecord` for each; stops at the first bad
 * record (framing or `onRecord` failure) and returns it with the offset reached.
 */
function walkRecords(
  buf: Uint8Array,
  start: number,
  firstIndex: number,
  magic: Magic,
  verifySha1: boolean,
  onRecord: (rec: FramedRecord, place: RecordPlace) => void,
): { bytesRead: number; error: ParseError | null } {
  let offset = start;
  let index = firstIndex;
  while (offset < buf.length) {
    const fallbackPlace = { index, offset, excerpt: "" };
    try {
      const rec = frameRecord(buf, offset, index, verifySha1);
      const place = placeOf(rec, buf);
      if (rec.magic !== magic)
        throw recordError(place, `"OVSDB ${rec.magic}" record in an "OVSDB ${magic}" file`);
      try {
        onRecord(rec, place);
      } catch (e) {
        throw asRecordError(e, place);
      }
      offset += rec.byteLength;
      index++;
    } catch (e) {
      return { bytesRead: offset, error: asRecordError(e, fallbackPlace) };
    }
  }
  return { bytesRead: offset, error: null };
}

function summary(rec: FramedRecord, kind: OvsdbRecordKind, extra: Partial<OvsdbRecord> = {}): OvsdbRecord {
  return { index: rec.index, kind, offset: rec.offset, byteLength: rec.byteLength, ...extra };
}

function txnSummary(
  rec: FramedRecord,
  kind: OvsdbRecordKind,
  info: TxnInfo,
  extra: Partial<OvsdbRecord> = {},
) {
  const out: Partial<OvsdbRecord> = { ...extra, tables: info.tables };
  if (info.date !== undefined) Object.assign(out, { date: info.date });
  if (info.comment !== undefined) Object.assign(out, { comment: info.comment });
  return summary(rec, kind, out);
}

function readStandalone(buf: Uint8Array, first: FramedRecord, verifySha1: boolean): ReadResult {
  const schema = schemaFrom(first.json, placeOf(first, buf));
  const db = newDbState(schema);
  const records: OvsdbRecord[] = [summary(first, "schema")];
  let transactions = 0;
  const walked = walkRecords(buf, first.byteLength, 1, "JSON", verifySha1, (rec, place) => {
    const info = applyTransaction(db, rec.json, rec.index, place);
    records.push(txnSummary(rec, "transaction", info));
    transactions++;
  });
  return {
    database: buildDatabase(db, "standalone", records, transactions, walked.bytesRead, buf.length),
    error: walked.error,
  };
}

function buildDatabase(
  db: DbState,
  format: "standalone" | "clustered",
  records: OvsdbRecord[],
  transactions: number,
  bytesRead: number,
  byteLength: number,
  raft?: OvsdbRaftInfo,
): OvsdbDatabase {
  const base = {
    kind: "ovsdb-database" as const,
    format,
    name: db.schema.name,
    version: db.schema.version,
    schema: db.schema,
    tableNames: Object.keys(db.schema.tables),
    tables: snapshotTables(db),
    records,
    transactions,
    bytesRead,
    byteLength,
  };
  return raft === undefined ? base : { ...base, raft };
}

// ---------------------------------------------------------------------------------------------
// Clustered (RAFT) files
// ---------------------------------------------------------------------------------------------

interface RaftEntry {
  readonly rec: FramedRecord;
  readonly place: RecordPlace;
  readonly term: number;
  readonly index: number;
  readonly schemaJson: Json;
  readonly txnJson: Json;
  readonly servers: Record<string, string> | null;
}

interface RaftHeader {
  readonly clusterId: string | null;
  readonly serverId: string | null;
  readonly name: string | null;
  readonly localAddress: string | null;
  readonly servers: Record<string, string>;
  readonly snapshotTerm: number | null;
  readonly snapshotIndex: number | null;
  readonly schemaJson: Json;
  readonly dataJson: Json;
}

function str(o: JsonObject, key: string): string | null {
  const v = own(o, key);
  return typeof v === "string" ? v : null;
}

function num(o: JsonObject, key: string): number | null {
  const v = own(o, key);
  return typeof v === "number" ? v : null;
}

function serversFrom(j: Json): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isObject(j)) return out;
  for (const [id, address] of Object.entries(j)) {
    if (UUID.test(id))
      out[id.toLowerCase()] = typeof address === "string" ? address : JSON.stringify(address);
  }
  return out;
}

function parseRaftHeader(j: Json, place: RecordPlace): RaftHeader {
  if (!isObject(j)) throw recordError(place, "RAFT header is not a JSON object");
  const prevData = own(j, "prev_data");
  if (prevData !== undefined && !(Array.isArray(prevData) && prevData.length === 2)) {
    throw recordError(place, "RAFT header prev_data is not [schema, data]");
  }
  return {
    clusterId: str(j, "cluster_id"),
    serverId: str(j, "server_id"),
    name: str(j, "name"),
    localAddress: str(j, "local_address"),
    servers: serversFrom(own(j, "prev_servers")),
    snapshotTerm: num(j, "prev_term"),
    snapshotIndex: num(j, "prev_index"),
    schemaJson: prevData === undefined ? null : (prevData as unknown[])[0],
    dataJson: prevData === undefined ? null : (prevData as unknown[])[1],
  };
}

function raftRecordKind(j: JsonObject): OvsdbRecordKind {
  if (own(j, "vote") !== undefined) return "raft-vote";
  if (own(j, "leader") !== undefined) return "raft-leader";
  if (own(j, "commit_index") !== undefined) return "raft-commit";
  if (Object.keys(j).length === 1 && own(j, "term") !== undefined) return "raft-term";
  return "raft-other";
}

function parseRaftEntry(rec: FramedRecord, place: RecordPlace, j: JsonObject): RaftEntry {
  const term = num(j, "term");
  const index = num(j, "index");
  if (term === null || index === null) throw recordError(place, "RAFT entry without numeric term and index");
  const data = own(j, "data");
  if (data !== undefined && data !== null && !(Array.isArray(data) && data.length === 2)) {
    throw recordError(place, "RAFT entry data is not [schema, transaction]");
  }
  const pair = Array.isArray(data) ? data : [null, null];
  const servers = own(j, "servers");
  return {
    rec,
    place,
    term,
    index,
    schemaJson: pair[0],
    txnJson: pair[1],
    servers: servers === undefined ? null : serversFrom(servers),
  };
}

/** Mutable progress of a RAFT log walk. */
interface RaftWalk {
  readonly header: RaftHeader;
  readonly entries: RaftEntry[];
  readonly summaries: OvsdbRecord[];
  lastTerm: number | null;
  commitIndex: number | null;
}

function readClustered(buf: Uint8Array, first: FramedRecord, verifySha1: boolean): ReadResult {
  const firstPlace = placeOf(first, buf);
  const header = parseRaftHeader(first.json, firstPlace);
  const walk: RaftWalk = {
    header,
    entries: [],
    summaries: [summary(first, "raft-header")],
    lastTerm: header.snapshotTerm,
    commitIndex: null,
  };
  const walked = walkRecords(buf, first.byteLength, 1, "CLUSTER", verifySha1, (rec, place) => {
    noteRaftRecord(walk, rec, place);
  });
  const replay = replayRaft(walk, firstPlace);
  // A transaction that does not apply comes before any framing error further on.
  const error = replay.error ?? walked.error;
  const bytesRead = replay.error === null ? walked.bytesRead : (replay.error.offset ?? walked.bytesRead);
  const kept = replay.error === null ? walk.summaries : walk.summaries.filter((r) => r.offset < bytesRead);
  const raft: OvsdbRaftInfo = {
    clusterId: header.clusterId,
    serverId: header.serverId,
    name: header.name,
    localAddress: header.localAddress,
    servers: replay.servers,
    snapshotTerm: header.snapshotTerm,
    snapshotIndex: header.snapshotIndex,
    lastTerm: walk.lastTerm,
    lastIndex: replay.lastIndex,
    commitIndex: walk.commitIndex,
    entriesApplied: replay.entriesApplied,
  };
  const records = kept.map((r) => replay.txnInfo.get(r.index) ?? r);
  return {
    database: buildDatabase(
      replay.db,
      "clustered",
      records,
      replay.transactions,
      bytesRead,
      buf.length,
      raft,
    ),
    error,
  };
}

function noteRaftRecord(walk: RaftWalk, rec: FramedRecord, place: RecordPlace): void {
  const j = rec.json;
  if (!isObject(j)) throw recordError(place, "RAFT record is not a JSON object");
  const term = num(j, "term");
  if (term !== null) walk.lastTerm = Math.max(walk.lastTerm ?? term, term);
  if (own(j, "index") === undefined) {
    const commit = num(j, "commit_index");
    if (commit !== null) walk.commitIndex = commit;
    const extra: Partial<OvsdbRecord> = term === null ? {} : { term };
    walk.summaries.push(summary(rec, raftRecordKind(j), extra));
    return;
  }
  const entry = parseRaftEntry(rec, place, j);
  truncateLog(walk, entry);
  walk.entries.push(entry);
  walk.summaries.push(summary(rec, "raft-entry", { term: entry.term, raftIndex: entry.index }));
}

/** A RAFT entry for an index already in the log replaces it and every later one (a new leader's log wins). */
function truncateLog(walk: RaftWalk, entry: RaftEntry): void {
  const start = walk.header.snapshotIndex ?? 0;
  if (entry.index <= start) {
    throw recordError(
      entry.place,
      `RAFT entry index ${entry.index} is not after the snapshot (index ${start})`,
    );
  }
  const last = walk.entries.at(-1)?.index ?? start;
  if (entry.index > last + 1) {
    throw recordError(entry.place, `RAFT entry index ${entry.index} leaves a gap after index ${last}`);
  }
  while ((walk.entries.at(-1)?.index ?? 0) >= entry.index) walk.entries.pop();
}

interface RaftReplay {
  db: DbState;
  transactions: number;
  entriesApplied: number;
  lastIndex: number | null;
  servers: Record<string, string>;
  txnInfo: Map<number, OvsdbRecord>;
  error: ParseError | null;
}

function replayRaft(walk: RaftWalk, headerPlace: RecordPlace): RaftReplay {
  const { header } = walk;
  let db: DbState | null = null;
  if (header.schemaJson !== null) db = newDbState(schemaFrom(header.schemaJson, headerPlace));
  if (header.dataJson !== null) {
    if (db === null) throw recordError(headerPlace, "RAFT snapshot has data but no schema");
    applyTransaction(db, header.dataJson, 0, headerPlace);
  }
  const out: Omit<RaftReplay, "db"> = {
    transactions: 0,
    entriesApplied: 0,
    lastIndex: header.snapshotIndex,
    servers: { ...header.servers },
    txnInfo: new Map(),
    error: null,
  };
  for (const entry of walk.entries) {
    try {
      db = applyRaftEntry(db, entry, out);
    } catch (e) {
      out.error = asRecordError(e, entry.place);
      break;
    }
  }
  if (db === null)
    throw recordError(headerPlace, "clustered database has no schema (no snapshot was ever received)");
  return { db, ...out };
}

function applyRaftEntry(db: DbState | null, entry: RaftEntry, out: Omit<RaftReplay, "db">): DbState | null {
  let next = db;
  if (entry.schemaJson !== null) {
    const schema = schemaFrom(entry.schemaJson, entry.place);
    // A schema change carries the converted data along; without data, keep what still fits.
    next = entry.txnJson !== null || next === null ? newDbState(schema) : convertDbState(next, schema);
  }
  if (entry.txnJson !== null) {
    if (next === null)
      throw recordError(entry.place, "RAFT entry has a transaction but there is no schema yet");
    const info = applyTransaction(next, entry.txnJson, entry.rec.index, entry.place);
    out.txnInfo.set(
      entry.rec.index,
      txnSummary(entry.rec, "raft-entry", info, { term: entry.term, raftIndex: entry.index }),
    );
    out.transactions++;
  }
  if (entry.servers !== null) out.servers = entry.servers;
  out.entriesApplied++;
  out.lastIndex = entry.index;
  return next;
}
