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

/** One command the run had a node run, or an ovn-trace daemon answer (`servedBy`), as it ended. */
export interface TraceRunCommand {
  readonly node: string;
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly durationMs: number;
  /** Absent: a process on the node (an exec through the API server on a live cluster). */
  readonly servedBy?: string;
}

/** What the run asked of the cluster. */
export interface TraceRunCommands {
  /** Commands run on nodes: on a live cluster, each one exec through the API server. */
  readonly execs: number;
  /** ovn-trace traces answered by daemons that loaded their zone's SB once (no process each). */
  readonly daemonTraces: number;
  readonly list: readonly TraceRunCommand[];
}

export interface TraceRun {
  readonly schemaVersion: typeof TRACE_RUN_SCHEMA_VERSION;
  readonly kind: "TraceRun";
  readonly tool: { readonly name: "ovnkube-trace"; readonly version: string };
  /** Whether the hops carry their tools' whole outputs (`--include-raw`, or `-loglevel` 2 and above). */
  readonly rawOutputs: boolean;
  /** One report per traced destination (several with `--all-backends`). */
  readonly reports: readonly TraceRunReport[];
  /** The commands the run ran on the cluster's nodes (also listed by `-loglevel 5`). */
  readonly commands?: TraceRunCommands;
}
