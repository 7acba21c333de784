import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
import type { OvsdbDatabase } from "../model/ovsdb.js";
import { SNAPSHOT_FORMAT, SNAPSHOT_VERSION, snapshotPaths, type SnapshotManifest } from "./format.js";

/** A snapshot directory, opened: its manifest and checked access to its files. */
export interface Snapshot {
  readonly dir: string;
  readonly manifest: SnapshotManifest;
  /** Files whose content no longer matches the manifest's checksum, or that are gone. */
  readonly damaged: readonly string[];
  path(file: string): string;
  bytes(file: string): Buffer;
  text(file: string): string;
  /** `file` if it is present and intact, else undefined. */
  usable(file: string): string | undefined;
}

/** A database file of a snapshot (a path the manifest names), read; a ParseError when it does not read. */
export type DatabaseReader = (file: string) => OvsdbDatabase;

/** Whether the file at `path` has the content of SHA-256 `sha256`. */
export type IntactCheck = (path: string, sha256: string) => boolean;

export const sha256Hex = (bytes: Uint8Array): string => createHash("sha256").update(bytes).digest("hex");

export const hashMatches: IntactCheck = (path, sha256) =>
  existsSync(path) && sha256Hex(readFileSync(path)) === sha256;

/** Opens a snapshot directory, checking its manifest and (with `intact`, by default its checksum) every file. */
export function readSnapshot(dir: string, intact: IntactCheck = hashMatches): Snapshot {
  const mf = join(dir, snapshotPaths.manifest);
  if (!existsSync(mf)) {
    throw new InputError(`${dir} is not a snapshot (no ${snapshotPaths.manifest})`, {
      hint: "create one with: ovnkube-trace snapshot collect --lab|--cluster|--sos ARCHIVE|--files FILE... --out DIR",
    });
  }
  let manifest: SnapshotManifest;
  try {
    manifest = JSON.parse(readFileSync(mf, "utf8")) as SnapshotManifest;
  } catch (e) {
    throw new InputError(`${mf} is not valid JSON`, { cause: e });
  }
  const { format, version } = manifest as { format?: unknown; version?: unknown };
  if (format !== SNAPSHOT_FORMAT || version !== SNAPSHOT_VERSION) {
    throw new InputError(
      `${mf} is not an ovnkube-trace snapshot manifest of version ${String(SNAPSHOT_VERSION)}`,
    );
  }
  const damaged: string[] = [];
  for (const [file, f] of Object.entries(manifest.files)) {
    if (!intact(join(dir, file), f.sha256)) damaged.push(file);
  }
  const path = (file: string): string => join(dir, file);
  return {
    dir,
    manifest,
    damaged,
    path,
    bytes: (file) => readFileSync(path(file)),
    text: (file) => readFileSync(path(file), "utf8"),
    usable: (file) => (damaged.includes(file) || !existsSync(path(file)) ? undefined : file),
  };
}
