import type { Detrace, DirectionReport, Hop, TraceReport } from "./report.js";

/**
 * What `ovnkube-trace -o json|yaml` prints: one document per run, holding its reports. Its JSON schema
 * (schema/trace-run.schema.json) is generated from these types; bump TRACE_RUN_SCHEMA_VERSION on any
 * incompatible change (of these types or of the report's).
 */
export const TRACE_RUN_SCHEMA_VERSION = "1.0";

/** ovn-detrace's annotation of a hop; its text only with the raw outputs. */
export interface TraceRunDetrace extends Omit<Detrace, "output"> {
  readonly output?: string;
}

/** One hop; the tool's whole output (`output`) only with the raw outputs (`--include-raw`, `-loglevel` ≥ 2). */
export interface TraceRunHop extends Omit<Hop, "output" | "detrace"> {
  readonly output?: string;
  readonly detrace?: TraceRunDetrace;
}

export interface TraceRunDirection extends Omit<DirectionReport, "hops"> {
  readonly hops: readonly TraceRunHop[];
}

/** A trace report (schema/trace-report.schema.json) whose hops may leave out their raw outputs. */
export interface TraceRunReport extends Omit<TraceReport, "forward" | "reply"> {
  readonly forward: TraceRunDirection;
  readonly reply?: TraceRunDirection;
}

export interface TraceRun {
  readonly schemaVersion: typeof TRACE_RUN_SCHEMA_VERSION;
  readonly kind: "TraceRun";
  readonly tool: { readonly name: "ovnkube-trace"; readonly version: string };
  /** Whether the hops carry their tools' whole outputs (`--include-raw`, or `-loglevel` 2 and above). */
  readonly rawOutputs: boolean;
  /** One report per traced destination (several with `--all-backends`). */
  readonly reports: readonly TraceRunReport[];
}
