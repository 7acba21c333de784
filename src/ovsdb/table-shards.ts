/**
 * An OVSDB database written once as a directory that later runs open without reading it all: small tables
 * whole, each big table as its rows sorted by uuid with the byte range of every 3-hex-digit uuid prefix, so
 * that a lookup by uuid or uuid prefix reads a few rows. The database opened from it is an ordinary
 * {@link OvsdbDatabase}: a table is read whole (rows in their order, the same objects a lookup returned)
 * the first time anything reads `tables[name]`, so every reader sees what readOvsdbFile would have given.
 */

import { closeSync, mkdirSync, openSync, readFileSync, readSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { ProcessError } from "../errors.js";
import type { OvsdbDatabase, OvsdbRow } from "../model/ovsdb.js";

/** A table with at least this many rows is sharded by default. */
const SHARD_MIN_ROWS = 4096;
const PREFIX_DIGITS = 3;
const BUCKETS = 16 ** PREFIX_DIGITS;
const FORMAT = 1;

/** A row and its place among its table's rows (their order in the database). */
export interface PositionedRow {
  readonly row: OvsdbRow;
  readonly position: number;
}

interface ShardMeta {
  readonly format: number;
  /** The database without its tables. */
  readonly database: Omit<OvsdbDatabase, "tables">;
  /** Every table in the order of `tables`, and whether it is sharded. */
  readonly tables: readonly { readonly name: string; readonly sharded: boolean }[];
  /** The unsharded tables, whole. */
  readonly small: Readonly<Record<string, Readonly<Record<string, OvsdbRow>>>>;
}

const META = "meta.json";
const rowsFile = (table: string): string => `${table}.rows`;
const offsetsFile = (table: string): string => `${table}.offsets.json`;

function bucketOf(uuid: string): number {
  return Number.parseInt(uuid.slice(0, PREFIX_DIGITS), 16);
}

/** Writes `db` into `dir` (created; files of the same names are replaced); `shardMinRows`: which tables to shard. */
export function writeTableShards(db: OvsdbDatabase, dir: string, shardMinRows = SHARD_MIN_ROWS): void {
  mkdirSync(dir, { recursive: true });
  const { tables, ...database } = db;
  const small: Record<string, Readonly<Record<string, OvsdbRow>>> = {};
  const order: { name: string; sharded: boolean }[] = [];
  for (const [name, rows] of Object.entries(tables)) {
    const list = Object.values(rows);
    const sharded = list.length >= shardMinRows;
    order.push({ name, sharded });
    if (!sharded) {
      small[name] = rows;
      continue;
    }
    const sorted = list
      .map((row, position) => ({ row, position }))
      .sort((a, b) => (a.row.uuid < b.row.uuid ? -1 : a.row.uuid > b.row.uuid ? 1 : 0));
    const offsets = new Array<number>(BUCKETS + 1).fill(-1);
    const chunks: Buffer[] = [];
    let at = 0;
    for (const e of sorted) {
      const b = bucketOf(e.row.uuid);
      if (offsets[b] === -1) offsets[b] = at;
      const line = Buffer.from(`${JSON.stringify([e.position, e.row])}\n`);
      chunks.push(line);
      at += line.length;
    }
    // an empty bucket starts where the next one does
    offsets[BUCKETS] = at;
    for (let b = BUCKETS - 1; b >= 0; b--) if (offsets[b] === -1) offsets[b] = offsets[b + 1] ?? at;
    writeFileSync(join(dir, rowsFile(name)), Buffer.concat(chunks));
    writeFileSync(join(dir, offsetsFile(name)), JSON.stringify(offsets));
  }
  const meta: ShardMeta = { format: FORMAT, database, tables: order, small };
  // last: a directory without it is not an index
  writeFileSync(join(dir, META), JSON.stringify(meta));
}

/** A shard that no longer reads (a directory cleaned up under a long-running replica): one clear error. */
function shardRead<T>(dir: string, read: () => T): T {
  try {
    return read();
  } catch (e) {
    throw new ProcessError(
      `the table shards in ${dir} do not read (${e instanceof Error ? e.message : String(e)})`,
    );
  }
}

/** The rows of one sharded table, read bucket by bucket on demand. */
class ShardedTable {
  private readonly buckets = new Map<number, readonly PositionedRow[]>();
  private offsets: readonly number[] | undefined;
  whole: Readonly<Record<string, OvsdbRow>> | undefined;

  constructor(
    private readonly dir: string,
    private readonly name: string,
  ) {}

  private offsetsOf(): readonly number[] {
    this.offsets ??= shardRead(
      this.dir,
      () => JSON.parse(readFileSync(join(this.dir, offsetsFile(this.name)), "utf8")) as number[],
    );
    return this.offsets;
  }

  private parse(bytes: Buffer): PositionedRow[] {
    const text = bytes.toString("utf8");
    if (text === "") return [];
    const rows = shardRead(
      this.dir,
      () => JSON.parse(`[${text.slice(0, -1).replaceAll("\n", ",")}]`) as [number, OvsdbRow][],
    );
    return rows.map(([position, row]) => ({ row, position }));
  }

  /** The rows whose uuid starts with one 3-digit prefix, in uuid order. */
  bucket(b: number): readonly PositionedRow[] {
    let rows = this.buckets.get(b);
    if (rows === undefined) {
      const offsets = this.offsetsOf();
      const [start, end] = [offsets[b] ?? 0, offsets[b + 1] ?? 0];
      const bytes = Buffer.alloc(end - start);
      shardRead(this.dir, () => {
        const fd = openSync(join(this.dir, rowsFile(this.name)), "r");
        try {
          if (readSync(fd, bytes, 0, bytes.length, start) !== bytes.length) throw new Error("cut short");
        } finally {
          closeSync(fd);
        }
      });
      rows = this.parse(bytes);
      this.buckets.set(b, rows);
    }
    return rows;
  }

  /** Every row, in the database's order; rows already read by prefix are the same objects. */
  all(): Readonly<Record<string, OvsdbRow>> {
    if (this.whole !== undefined) return this.whole;
    const offsets = this.offsetsOf();
    const file = shardRead(this.dir, () => readFileSync(join(this.dir, rowsFile(this.name))));
    const rows: PositionedRow[] = [];
    for (let b = 0; b < BUCKETS; b++) {
      let part = this.buckets.get(b);
      if (part === undefined) {
        part = this.parse(file.subarray(offsets[b] ?? 0, offsets[b + 1] ?? 0));
        this.buckets.set(b, part);
      }
      rows.push(...part);
    }
    rows.sort((a, b) => a.position - b.position);
    const whole: Record<string, OvsdbRow> = {};
    for (const e of rows) whole[e.row.uuid] = e.row;
    this.whole = whole;
    return whole;
  }
}

const sharded = new WeakMap<OvsdbDatabase, ReadonlyMap<string, ShardedTable>>();

/**
 * The database written by {@link writeTableShards} into `dir`; undefined when `dir` holds none (or one of
 * another format). Its big tables are read when first used.
 */
export function openTableShards(dir: string): OvsdbDatabase | undefined {
  let meta: ShardMeta;
  try {
    meta = JSON.parse(readFileSync(join(dir, META), "utf8")) as ShardMeta;
  } catch {
    return undefined;
  }
  if (meta.format !== FORMAT) return undefined;
  const big = new Map<string, ShardedTable>();
  const tables: Record<string, Readonly<Record<string, OvsdbRow>>> = {};
  for (const t of meta.tables) {
    const small = meta.small[t.name];
    if (!t.sharded && small !== undefined) {
      tables[t.name] = small;
      continue;
    }
    const table = new ShardedTable(dir, t.name);
    big.set(t.name, table);
    Object.defineProperty(tables, t.name, { enumerable: true, get: () => table.all() });
  }
  const db: OvsdbDatabase = { ...meta.database, tables };
  sharded.set(db, big);
  return db;
}

/** The sharded table of `db` that has not been read whole yet: lookups in it read only their bucket. */
function unread(db: OvsdbDatabase, table: string): ShardedTable | undefined {
  const t = sharded.get(db)?.get(table);
  return t?.whole === undefined ? t : undefined;
}

/**
 * The rows of `table` whose uuid starts with `prefix` (case-sensitive), in uuid order, with their positions,
 * read from the shards; undefined when `db` has no unread shards for it or the prefix is too short to name a
 * bucket (then look in `db.tables`).
 */
export function shardRowsWithPrefix(
  db: OvsdbDatabase,
  table: string,
  prefix: string,
): readonly PositionedRow[] | undefined {
  const t = /^[0-9a-f]{3}/.test(prefix) ? unread(db, table) : undefined;
  return t?.bucket(bucketOf(prefix)).filter((e) => e.row.uuid.startsWith(prefix));
}
