import { createHash } from "node:crypto";
import { statSync, existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { InputError } from "../errors.js";
import {
  SNAPSHOT_FORMAT,
  SNAPSHOT_VERSION,
  snapshotPaths,
  type SnapshotFile,
  type SnapshotManifest,
} from "./format.js";

/** Writes the files of a new snapshot directory, keeping their checksums for the manifest. */
export class SnapshotWriter {
  private readonly files: Record<string, SnapshotFile> = {};
  private readonly created: boolean;

  /** Refuses a non-empty directory: a snapshot is never merged into something else. */
  constructor(readonly dir: string) {
    if (existsSync(dir) && !statSync(dir).isDirectory())
      throw new InputError(`${dir} exists and is not a directory`, {
        hint: "give --out a new or empty directory",
      });
    if (existsSync(dir) && readdirSync(dir).length > 0)
      throw new InputError(`${dir} is not empty`, { hint: "give --out a new or empty directory" });
    this.created = !existsSync(dir);
    mkdirSync(dir, { recursive: true });
  }

  /** After a fatal error: removes what was written, so no half snapshot is left behind. */
  abandon(): void {
    if (this.created) rmSync(this.dir, { recursive: true, force: true });
    else for (const f of readdirSync(this.dir)) rmSync(join(this.dir, f), { recursive: true, force: true });
  }

  /** Writes `data` at `path` (relative to the snapshot) and returns `path`. */
  write(path: string, data: string | Uint8Array): string {
    const full = join(this.dir, path);
    mkdirSync(dirname(full), { recursive: true });
    writeFileSync(full, data);
    const buf = typeof data === "string" ? Buffer.from(data, "utf8") : data;
    this.files[path] = { bytes: buf.byteLength, sha256: createHash("sha256").update(buf).digest("hex") };
    return path;
  }

  /** Writes manifest.json from everything written so far. */
  finish(m: Omit<SnapshotManifest, "format" | "version" | "files" | "createdAt">): SnapshotManifest {
    const manifest: SnapshotManifest = {
      format: SNAPSHOT_FORMAT,
      version: SNAPSHOT_VERSION,
      createdAt: new Date().toISOString(),
      ...m,
      files: { ...this.files },
    };
    writeFileSync(join(this.dir, snapshotPaths.manifest), JSON.stringify(manifest, null, 2) + "\n");
    return manifest;
  }
}
