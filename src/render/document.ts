import { stringify } from "yaml";
import type { Detrace, DirectionReport, Hop, TraceReport } from "../model/report.js";
import { OUTPUT_SCHEMA_VERSION, type OutputHead, type OutputKind } from "../model/output.js";
import {
  TRACE_RUN_SCHEMA_VERSION,
  type TraceRun,
  type TraceRunDetrace,
  type TraceRunDirection,
  type TraceRunCommand,
  type TraceRunHop,
} from "../model/trace-run.js";
import { VERSION } from "../version.js";

/** The machine-readable forms of `-o`. */
export type DocumentFormat = "json" | "yaml";

/**
 * A document as JSON (2-space indented) or YAML: the same data, so that the YAML parses to exactly what the
 * JSON does (no anchors for repeated objects, no folded lines, undefined fields left out as JSON does).
 */
export function renderDocument(doc: unknown, format: DocumentFormat): string {
  const json = JSON.stringify(doc, null, 2);
  if (format === "json") return `${json}\n`;
  return stringify(JSON.parse(json), { lineWidth: 0, aliasDuplicateObjects: false });
}

/** `{ schemaVersion, kind, ...body }`: the head every printed document starts with. */
export function versioned<K extends OutputKind, B extends object>(kind: K, body: B): OutputHead<K> & B {
  return { schemaVersion: OUTPUT_SCHEMA_VERSION, kind, ...body };
}

/** A copy of `o` without `keys` (every other field kept, those added to the model later too). */
function without<T extends object, K extends keyof T & string>(o: T, keys: readonly K[]): Omit<T, K> {
  const drop = new Set<string>(keys);
  return Object.fromEntries(Object.entries(o).filter(([k]) => !drop.has(k))) as Omit<T, K>;
}

function compactDetrace(d: Detrace): TraceRunDetrace {
  return without(d, ["output"]);
}

function compactHop(h: Hop): TraceRunHop {
  const { detrace } = h;
  return {
    ...without(h, ["output", "detrace"]),
    ...(detrace === undefined ? {} : { detrace: compactDetrace(detrace) }),
  };
}

function compactDirection(d: DirectionReport): TraceRunDirection {
  return { ...d, hops: d.hops.map(compactHop) };
}

/**
 * One run's reports as the document `-o json|yaml` prints (schema/trace-run.schema.json). Without
 * `includeRaw` each hop leaves out its tool's whole output and ovn-detrace's (a pod-to-pod report is ~0.5 MB
 * with them); the steps still quote the lines they were read from.
 */
export function traceRunDocument(
  reports: readonly TraceReport[],
  includeRaw: boolean,
  commands?: readonly TraceRunCommand[],
): TraceRun {
  return {
    schemaVersion: TRACE_RUN_SCHEMA_VERSION,
    kind: "TraceRun",
    tool: { name: "ovnkube-trace", version: VERSION },
    rawOutputs: includeRaw,
    reports: includeRaw
      ? reports
      : reports.map((r) => ({
          ...without(r, ["forward", "reply"]),
          forward: compactDirection(r.forward),
          ...(r.reply === undefined ? {} : { reply: compactDirection(r.reply) }),
        })),
    ...(commands === undefined
      ? {}
      : {
          commands: {
            execs: commands.filter((c) => c.servedBy === undefined).length,
            daemonTraces: commands.filter((c) => c.servedBy !== undefined).length,
            // by node and command: the same run gives the same document (they end in no fixed order)
            list: [...commands].sort(
              (a, b) => a.node.localeCompare(b.node) || a.argv.join(" ").localeCompare(b.argv.join(" ")),
            ),
          },
        }),
  };
}

/** `-loglevel 5`: each command the run had a node run, and the totals. */
export function commandsText(commands: readonly TraceRunCommand[]): string {
  const execs = commands.filter((c) => c.servedBy === undefined).length;
  const lines = commands.map(
    (c) =>
      `  ${c.node}: ${c.argv.join(" ").replaceAll("\n", " ").slice(0, 200)} -> exit ${String(c.exitCode)}, ${String(c.durationMs)} ms${c.servedBy === undefined ? "" : ` (${c.servedBy})`}`,
  );
  return [
    `commands on nodes: ${String(execs)} exec(s), ${String(commands.length - execs)} ovn-trace daemon answer(s)`,
    ...lines,
  ].join("\n");
}
