/**
 * An OVSDB database as read from its on-disk file (standalone JSON log or clustered RAFT log), after
 * replaying every transaction. Plain JSON data: rows are keyed by UUID, values decoded from OVSDB JSON.
 */

/** An OVSDB atom: integer/real → number, boolean, string; uuid (and named-uuid) → its string. */
export type OvsdbAtom = string | number | boolean;

/** A map column: keys are `String(key)` (integers as decimal, uuids as their string). */
export type OvsdbMap = Readonly<Record<string, OvsdbAtom>>;

/**
 * A column value, shaped by the column's schema type: a scalar column (min 1, max 1, no value type) is
 * an atom; a map column is an {@link OvsdbMap}; every other column (including optional ones, min 0 /
 * max 1) is an array of atoms in OVSDB order.
 */
export type OvsdbValue = OvsdbAtom | readonly OvsdbAtom[] | OvsdbMap;

export type OvsdbAtomicType = "integer" | "real" | "boolean" | "string" | "uuid";

export interface OvsdbBaseType {
  readonly type: OvsdbAtomicType;
  /** For uuid types that reference a table. */
  readonly refTable?: string;
  readonly refType?: "strong" | "weak";
  /** Allowed values, when the schema restricts them. */
  readonly enum?: readonly OvsdbAtom[];
}

export interface OvsdbColumnSchema {
  readonly name: string;
  /** How values of this column are represented in {@link OvsdbRow.columns}. */
  readonly shape: "atom" | "set" | "map";
  readonly key: OvsdbBaseType;
  /** Only for maps. */
  readonly value?: OvsdbBaseType;
  readonly min: number;
  /** A number, or "unlimited". */
  readonly max: number | "unlimited";
  /** Ephemeral columns are not stored in standalone files: their rows hold the default value. */
  readonly ephemeral: boolean;
  readonly mutable: boolean;
}

export interface OvsdbTableSchema {
  readonly name: string;
  readonly columns: Readonly<Record<string, OvsdbColumnSchema>>;
  readonly isRoot: boolean;
  /** Each index is a list of column names whose values are unique together. */
  readonly indexes: readonly (readonly string[])[];
  readonly maxRows: number | null;
}

export interface OvsdbSchema {
  readonly name: string;
  /** `null` for very old schemas that had none. */
  readonly version: string | null;
  readonly cksum: string | null;
  readonly tables: Readonly<Record<string, OvsdbTableSchema>>;
}

/** Which file record last inserted/changed a row: indexes into {@link OvsdbDatabase.records}. */
export interface OvsdbRowSource {
  readonly insertedBy: number;
  readonly updatedBy: number;
}

export interface OvsdbRow {
  readonly uuid: string;
  readonly table: string;
  /** Every column of the schema (persistent columns that the file never set hold their default). */
  readonly columns: Readonly<Record<string, OvsdbValue>>;
  readonly source: OvsdbRowSource;
}

export type OvsdbRecordKind =
  | "schema"
  | "transaction"
  | "raft-header"
  | "raft-entry"
  | "raft-vote"
  | "raft-leader"
  | "raft-commit"
  | "raft-term"
  | "raft-other";

/** One framed record of the file (`OVSDB JSON|CLUSTER <length> <sha1>` + JSON). */
export interface OvsdbRecord {
  readonly index: number;
  readonly kind: OvsdbRecordKind;
  /** Byte offset of the record's header line. */
  readonly offset: number;
  /** Header line + JSON bytes. */
  readonly byteLength: number;
  /** `_date` of a transaction, in milliseconds since the epoch. */
  readonly date?: number;
  /** `_comment` of a transaction, e.g. "ovn-nbctl: ovn-nbctl ls-add sw0". */
  readonly comment?: string;
  /** RAFT term and log index of an entry (or term of a vote/leader record). */
  readonly term?: number;
  readonly raftIndex?: number;
  /** Raft entry with a `data` payload, or a standalone transaction: the table names it touches. */
  readonly tables?: readonly string[];
}

export interface OvsdbRaftInfo {
  readonly clusterId: string | null;
  readonly serverId: string | null;
  readonly name: string | null;
  readonly localAddress: string | null;
  /** Servers (id → address) as of the snapshot, updated by later configuration entries. */
  readonly servers: Readonly<Record<string, string>>;
  /** Term and index of the snapshot in the header. */
  readonly snapshotTerm: number | null;
  readonly snapshotIndex: number | null;
  /** Highest term and entry index seen, and the last `commit_index` record. */
  readonly lastTerm: number | null;
  readonly lastIndex: number | null;
  readonly commitIndex: number | null;
  /** Entries replayed onto the snapshot (those without data are counted too). */
  readonly entriesApplied: number;
}

export interface OvsdbDatabase {
  readonly kind: "ovsdb-database";
  readonly format: "standalone" | "clustered";
  readonly name: string;
  readonly version: string | null;
  readonly schema: OvsdbSchema;
  /** Table names in schema order (as they appear in the schema JSON). */
  readonly tableNames: readonly string[];
  /** table → uuid → row. Every schema table is present, possibly empty. */
  readonly tables: Readonly<Record<string, Readonly<Record<string, OvsdbRow>>>>;
  /** Every record read, in file order. */
  readonly records: readonly OvsdbRecord[];
  /** Transactions applied (standalone records after the schema, or raft entries carrying data). */
  readonly transactions: number;
  /** Bytes of the input that the records cover (the whole input unless reading leniently stopped early). */
  readonly bytesRead: number;
  readonly byteLength: number;
  /** Only for clustered files. */
  readonly raft?: OvsdbRaftInfo;
}

/** What a uuid points at, from the index built over a database. */
export interface OvsdbRowRef {
  readonly table: string;
  readonly row: OvsdbRow;
}

/** The NB and SB of one OVN zone (the zone of the node they were read on). */
export interface OvnDatabases {
  readonly nb: OvsdbDatabase;
  readonly sb: OvsdbDatabase;
}
