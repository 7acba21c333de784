/**
 * The JSON (and YAML) documents the tool prints besides the trace run (trace-run.ts) and `parse`'s output
 * (parsed.ts): each starts with `schemaVersion` and `kind`, so that a script can tell what it reads and
 * whether it knows its layout. Bump OUTPUT_SCHEMA_VERSION on any incompatible change of one of them.
 */
export const OUTPUT_SCHEMA_VERSION = "1.0";

export type OutputKind =
  "LabUp" | "LabStatus" | "LabProbe" | "SnapshotManifest" | "SnapshotShow" | "Explanation";

/** The head of every such document. */
export interface OutputHead<K extends OutputKind = OutputKind> {
  readonly schemaVersion: typeof OUTPUT_SCHEMA_VERSION;
  readonly kind: K;
}
