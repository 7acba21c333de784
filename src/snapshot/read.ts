import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { InputError } from "../errors.js";
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

/** Opens a snapshot directory, checking its manifest and the checksum of every file. */
export function readSnapshot(dir: string): Snapshot {
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
    const p = join(dir, file);
    if (!existsSync(p) || createHash("sha256").update(readFileSync(p)).digest("hex") !== f.sha256)
      damaged.push(file);
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
