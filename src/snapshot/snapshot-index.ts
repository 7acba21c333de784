/**
 * What `snapshot start` prepares in the replica's directory so that each later run reads only what it needs
 * of a big snapshot: the stat of every file found intact (a run trusts a file whose stat is unchanged
 * instead of hashing it again), each database (zones' NB and SB, nodes' conf.db) split into table shards
 * (src/ovsdb/table-shards.ts) and the Kubernetes objects split by kind and namespace (kubernetes-shards.ts).
 * It lives and dies with the replica, and is used only for the manifest it was built from.
 */

import { existsSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { openTableShards, writeTableShards } from "../ovsdb/table-shards.js";
import type { ObjectSource } from "../cluster/object-store.js";
import { snapshotPaths } from "./format.js";
import { openKubernetesShards, writeKubernetesShards } from "./kubernetes-shards.js";
import {
  hashMatches,
  readSnapshot,
  sha256Hex,
  type DatabaseReader,
  type IntactCheck,
  type Snapshot,
} from "./read.js";

const FORMAT = 1;

/**
 * What identifies a file's content without reading it: a write changes its ctime (which no user call sets),
 * a replaced file has another inode.
 */
interface FileStamp {
  readonly dev: string;
  readonly ino: string;
  readonly size: string;
  readonly mtimeNs: string;
  readonly ctimeNs: string;
}

interface IndexState {
  readonly format: number;
  readonly manifestSha256: string;
  /** Absolute path → its stamp when its content matched the manifest. */
  readonly intact: Readonly<Record<string, FileStamp>>;
  /** A database's file (as the manifest names it) → the directory of its shards. */
  readonly databases: Readonly<Record<string, string>>;
  /** What the Kubernetes objects were made of: the files found damaged, and the objects file if there was one. */
  readonly objectsFrom: ObjectsFrom;
}

interface ObjectsFrom {
  readonly damaged: readonly string[];
  readonly kubernetes: FileStamp | null;
}

/** The objects file as SnapshotBackend looks for it (it may be one the manifest does not list: no checksum). */
const kubernetesPath = (snap: Snapshot): string =>
  snap.path(snap.manifest.kubernetes?.file ?? snapshotPaths.kubernetes);

function objectsFrom(snap: Snapshot): ObjectsFrom {
  return { damaged: [...snap.damaged].sort(), kubernetes: stampOf(kubernetesPath(snap)) ?? null };
}

const indexDir = (replicaDir: string): string => join(replicaDir, "index");
const KUBERNETES = "kubernetes";
const stateFile = (replicaDir: string): string => join(indexDir(replicaDir), "index.json");

function stampOf(path: string): FileStamp | undefined {
  try {
    const s = statSync(path, { bigint: true });
    return {
      dev: String(s.dev),
      ino: String(s.ino),
      size: String(s.size),
      mtimeNs: String(s.mtimeNs),
      ctimeNs: String(s.ctimeNs),
    };
  } catch {
    return undefined;
  }
}

const sameStamp = (a: FileStamp | undefined, b: FileStamp | undefined): boolean =>
  a !== undefined && b !== undefined && JSON.stringify(a) === JSON.stringify(b);

/**
 * File times are coarse (a clock tick): a file changed in the tick it was stamped in could keep its stamp, so
 * only a file last changed this long before it was hashed is trusted by its stamp (git's "racy clean" rule).
 */
const RACY_NS = 100_000_000n;

/** Hashes each file, and keeps its stamp when it did not change while it was hashed. */
function stampingCheck(intact: Record<string, FileStamp>): IntactCheck {
  return (path, sha256) => {
    const hashedFrom = BigInt(Date.now()) * 1_000_000n;
    const before = stampOf(path);
    const ok = hashMatches(path, sha256);
    const settled = before !== undefined && BigInt(before.ctimeNs) < hashedFrom - RACY_NS;
    if (ok && settled && sameStamp(before, stampOf(path))) intact[resolve(path)] = before;
    return ok;
  };
}

/** A file whose stamp is the one it had when found intact is intact; any other is hashed. */
function stampedCheck(intact: Readonly<Record<string, FileStamp>>): IntactCheck {
  return (path, sha256) => {
    const known = Object.hasOwn(intact, resolve(path)) ? intact[resolve(path)] : undefined;
    return sameStamp(known, stampOf(path)) || hashMatches(path, sha256);
  };
}

/** The Kubernetes objects of a snapshot, given a reader of its databases (see SnapshotBackend). */
export type SnapshotObjects = (snap: Snapshot, readDatabase: DatabaseReader) => Promise<readonly unknown[]>;

/**
 * Builds the index of `snapshot` in `replicaDir` for the manifest the replica runs (`manifestSha256`); what
 * went wrong when it could not (then there is none: runs read the files). A database that does not read gets
 * no shards: runs read its file and say why it does not read.
 */
export async function buildSnapshotIndex(
  snapshot: string,
  replicaDir: string,
  manifestSha256: string,
  objectsOf: SnapshotObjects,
  shardMinRows?: number,
): Promise<string | undefined> {
  try {
    await writeSnapshotIndex(snapshot, replicaDir, manifestSha256, objectsOf, shardMinRows);
    return undefined;
  } catch (e) {
    try {
      rmSync(indexDir(replicaDir), { recursive: true, force: true });
    } catch {
      // no directory there to hold a part of an index
    }
    return e instanceof Error ? e.message : String(e);
  }
}

async function writeSnapshotIndex(
  snapshot: string,
  replicaDir: string,
  manifestSha256: string,
  objectsOf: SnapshotObjects,
  shardMinRows: number | undefined,
): Promise<void> {
  const intact: Record<string, FileStamp> = {};
  const snap = readSnapshot(snapshot, stampingCheck(intact));
  const databases: Record<string, string> = {};
  const read = new Map<string, OvsdbDatabase>();
  const files = [
    ...snap.manifest.zones.flatMap((z) => [z.nb, z.sb]),
    ...snap.manifest.nodes.map((n) => n.confDb),
  ];
  for (const [i, file] of files.entries()) {
    const usable = file === undefined ? undefined : snap.usable(file);
    if (usable === undefined) continue;
    const bytes = snap.bytes(usable);
    // the shards are of the content the manifest names, whatever happens to the file meanwhile
    if (sha256Hex(bytes) !== snap.manifest.files[usable]?.sha256) continue;
    let db: OvsdbDatabase;
    try {
      db = readOvsdbFile(bytes);
    } catch {
      continue;
    }
    read.set(usable, db);
    const dir = `db${String(i)}`;
    writeTableShards(db, join(indexDir(replicaDir), dir), shardMinRows);
    databases[usable] = dir;
  }
  const from = objectsFrom(snap);
  const objects = await objectsOf(snap, (file) => read.get(file) ?? readOvsdbFile(snap.bytes(file)));
  writeKubernetesShards(objects, join(indexDir(replicaDir), KUBERNETES));
  const state: IndexState = { format: FORMAT, manifestSha256, intact, databases, objectsFrom: from };
  writeFileSync(stateFile(replicaDir), JSON.stringify(state));
}

/** True when the replica has an index (of any manifest). */
export const hasSnapshotIndex = (replicaDir: string): boolean => existsSync(stateFile(replicaDir));

/** A snapshot opened with its replica's index. */
export interface IndexedSnapshot {
  readonly snap: Snapshot;
  /** A database (zone NB, SB, a node's conf.db) from its shards; undefined when the index has none for it. */
  database(file: string): OvsdbDatabase | undefined;
  /** The Kubernetes objects, read by kind and namespace; undefined without an index. */
  readonly objects: ObjectSource | undefined;
}

/**
 * Opens `snapshot` with the index its replica holds for `manifestSha256`: files are trusted by stamp, zone
 * databases come from their shards. Without an index for that manifest, the snapshot as readSnapshot opens it.
 */
export function openIndexedSnapshot(
  snapshot: string,
  replicaDir: string | undefined,
  manifestSha256: string | undefined,
): IndexedSnapshot {
  let state: IndexState | undefined;
  try {
    if (replicaDir !== undefined)
      state = JSON.parse(readFileSync(stateFile(replicaDir), "utf8")) as IndexState;
  } catch {
    state = undefined;
  }
  if (state?.format !== FORMAT || state.manifestSha256 !== manifestSha256 || replicaDir === undefined)
    return { snap: readSnapshot(snapshot), database: () => undefined, objects: undefined };
  const { intact, databases } = state;
  const snap = readSnapshot(snapshot, stampedCheck(intact));
  // the objects of the same files: the same objects file, untouched, and the same databases usable
  const same = JSON.stringify(objectsFrom(snap)) === JSON.stringify(state.objectsFrom);
  return {
    snap,
    objects: same ? openKubernetesShards(join(indexDir(replicaDir), KUBERNETES)) : undefined,
    // only a file that is intact now: its content is what the shards were made of
    database: (file) => {
      const dir = Object.hasOwn(databases, file) ? databases[file] : undefined;
      return dir === undefined || snap.usable(file) === undefined
        ? undefined
        : openTableShards(join(indexDir(replicaDir), dir));
    },
  };
}
