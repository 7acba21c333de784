import type { ClusterBackend } from "../cluster/backend.js";
import { InputError, ProcessError } from "../errors.js";
import { looksLikeOfprotoTrace } from "../parsers/ofproto-trace.js";
import { looksLikeOvnTrace } from "../parsers/ovn-trace.js";
import { renderExplained } from "../render/explain-text.js";
import { detrace, detraceAnnotations, traceLines } from "../explain/detrace.js";
import { explainOfprotoTrace, explainOvnTrace } from "../explain/explain-trace.js";
import { readNodeSources } from "./explain-sources.js";
import type { DecodeSources } from "../explain/decode.js";
import type { DecodedLine, ExplainSummary } from "../model/explanation.js";
import type { DecodedValue } from "../model/explanation.js";
import { ok, type CommandResult } from "./command.js";
import { withBackend, type ClusterChoice } from "./open-backend.js";
import { readInput } from "./parse.js";

/**
 * What `ovnkube-trace explain` prints for a pasted trace: decoded (the default: summary, ovn-detrace's
 * annotations, every number named), exactly what ovn-detrace prints (`--format detrace`), or the decoded
 * explanation as JSON (`-o json`).
 */

export type ExplainFormat = "decoded" | "detrace";
export type ExplainInput = "ofproto/trace" | "ovn-trace";

export function explainInputKind(text: string): ExplainInput {
  if (looksLikeOfprotoTrace(text)) return "ofproto/trace";
  if (looksLikeOvnTrace(text)) return "ovn-trace";
  throw new InputError("explain reads ofproto/trace or ovn-trace output", {
    hint: "paste the output of `ovs-appctl ofproto/trace br-int ...` or of `ovn-trace ...`",
  });
}

/** The JSON form (`-o json`). */
export interface ExplainJson {
  readonly input: ExplainInput;
  readonly node: string;
  readonly summary: ExplainSummary;
  readonly lines: readonly {
    readonly line: number;
    readonly text: string;
    readonly values: readonly DecodedValue[];
  }[];
  /** Databases that could not be read: their values are "unknown". */
  readonly missing: readonly string[];
  /** ovn-detrace's output for the same input (ofproto/trace with both OVN databases). */
  readonly detrace?: string;
}

export interface ExplainRequest {
  readonly text: string;
  readonly node: string;
  readonly format: ExplainFormat;
  readonly output: "text" | "json";
}

/** Checks the input and the flags (`--format`, `-o`) of an explain request. */
export function explainRequest(text: string, node: string, format: string, output: string): ExplainRequest {
  explainInputKind(text);
  if (format !== "decoded" && format !== "detrace")
    throw new InputError(`--format must be decoded or detrace, not ${format}`);
  if (output !== "text" && output !== "json") throw new InputError(`-o must be text or json, not ${output}`);
  return { text, node, format, output };
}

/** Explains from databases already read (pure). */
export function renderExplanation(
  r: ExplainRequest,
  sources: DecodeSources,
  missing: readonly string[] = [],
): string {
  const input = explainInputKind(r.text);
  const { nb, sb } = sources;
  if (r.format === "detrace" && r.output === "text") {
    if (input !== "ofproto/trace")
      throw new InputError("--format detrace annotates ofproto/trace output only (as ovn-detrace does)");
    if (nb === undefined || sb === undefined)
      throw new ProcessError(`cannot annotate without the zone's databases: ${missing.join("; ")}`, {
        hint: "check that the node's ovnkube pod (or the lab, or the snapshot) can run ovsdb-client",
      });
    return detrace(r.text, { nb, sb });
  }
  const e =
    input === "ofproto/trace" ? explainOfprotoTrace(r.text, sources) : explainOvnTrace(r.text, sources);
  const lines = traceLines(r.text);
  const withDetrace = input === "ofproto/trace" && nb !== undefined && sb !== undefined;
  if (r.output === "json") {
    const json: ExplainJson = {
      input,
      node: r.node,
      summary: e.summary,
      lines: e.lines.map((l: DecodedLine) => ({
        line: l.index + 1,
        text: lines[l.index] ?? "",
        values: l.values,
      })),
      missing,
      ...(withDetrace ? { detrace: detrace(r.text, { nb, sb }) } : {}),
    };
    return `${JSON.stringify(json, null, 2)}\n`;
  }
  return renderExplained(lines, e, {
    title: `${input} on ${r.node}`,
    notes: missing.map((m) => `could not read the ${m}; its values show as unknown`),
    ...(withDetrace ? { annotations: detraceAnnotations(r.text, { nb, sb }) } : {}),
  });
}

/** Reads the node's databases through the backend, then explains. */
export async function explainOnBackend(r: ExplainRequest, b: ClusterBackend): Promise<string> {
  explainInputKind(r.text);
  const { sources, missing } = await readNodeSources(b, r.node);
  return renderExplanation(r, sources, missing);
}

/** `ovnkube-trace explain FILE --node NODE`: the trace read from a file or standard input ("-"). */
export async function explainCommand(
  file: string,
  flags: { readonly node: string; readonly format: string; readonly output: string },
  cluster: ClusterChoice,
): Promise<CommandResult> {
  const text = Buffer.from(readInput(file)).toString("utf8");
  const request = explainRequest(text, flags.node, flags.format, flags.output);
  return ok(await withBackend(cluster, undefined, (b) => explainOnBackend(request, b)));
}
