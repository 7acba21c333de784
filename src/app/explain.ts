import type { ClusterBackend } from "../cluster/backend.js";
import { InputError, ProcessError } from "../errors.js";
import { looksLikeOfprotoTrace } from "../parsers/ofproto-trace.js";
import { looksLikeOvnTrace } from "../parsers/ovn-trace.js";
import { renderExplained } from "../render/explain-text.js";
import { detrace, detraceAnnotations, traceLines } from "../explain/detrace.js";
import { explainOfprotoTrace, explainOvnTrace } from "../explain/explain-trace.js";
import { readNodeSources } from "./explain-sources.js";
import type { DecodeSources } from "../explain/decode.js";
import type { DecodedLine, ExplainedTrace, ExplainSummary } from "../model/explanation.js";
import type { DecodedValue } from "../model/explanation.js";
import type { OutputHead } from "../model/output.js";
import { renderDocument, versioned } from "../render/document.js";
import { renderExplainHtml, type ExplainPage } from "../render/html/explain-report.js";
import type { CommandResult, PageFormat } from "./command.js";
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

/** The JSON/YAML form (`-o json|yaml`). */
export interface ExplainJson extends OutputHead<"Explanation"> {
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
  /** html: the decoded explanation and ovn-detrace's output as one self-contained page (`--format` aside). */
  readonly output: PageFormat;
  /** Also write the HTML page to this file (beside the output of `output`). */
  readonly htmlFile?: string;
}

/** Checks the input and the flags (`--format`, `-o`) of an explain request. */
export function explainRequest(
  text: string,
  node: string,
  format: string,
  output: string,
  htmlFile?: string,
): ExplainRequest {
  explainInputKind(text);
  if (format !== "decoded" && format !== "detrace")
    throw new InputError(`--format must be decoded or detrace, not ${format}`);
  if (output !== "text" && output !== "json" && output !== "yaml" && output !== "html")
    throw new InputError(`-o must be text, json, yaml or html, not ${output}`);
  return { text, node, format, output, ...(htmlFile === undefined ? {} : { htmlFile }) };
}

/** The values of an explained trace, each once (the summary repeats some of the lines'). */
function decodedValues(e: ExplainedTrace): DecodedValue[] {
  const seen = new Map<string, DecodedValue>();
  for (const v of e.lines.flatMap((l) => l.values)) seen.set(`${v.field}\0${v.raw}`, v);
  return [...seen.values()];
}

/** Why a value is unknown: the decoder's words, `unknown (why)`. */
const whyUnknown = (v: DecodedValue): string =>
  /unknown \(((?:[^()]|\([^()]*\))*)\)/.exec(v.meaning)?.[1] ?? v.meaning;

/**
 * One note per reason: which values could not be named, and why (a database that could not be read, a
 * key no row has), so that a user knows what the "unknown"s below stand for and what to do.
 */
export function unnamedNotes(values: readonly DecodedValue[]): string[] {
  const unknown = values.filter((v) => !v.known);
  if (unknown.length === 0) return [];
  const byWhy = new Map<string, string[]>();
  for (const v of unknown) {
    const list = byWhy.get(whyUnknown(v)) ?? [];
    list.push(v.field === v.raw ? v.raw : `${v.field}=${v.raw}`);
    byWhy.set(whyUnknown(v), list);
  }
  const most = 8;
  return [...byWhy].map(
    ([why, names]) =>
      `could not name ${names.slice(0, most).join(", ")}${names.length > most ? ` and ${String(names.length - most)} more` : ""}: ${why}`,
  );
}

/** What `explain` prints, and its failure when it could name nothing. */
export interface Explanation {
  readonly output: string;
  /** How many distinct values the trace has, and how many of them were named. */
  readonly values: number;
  readonly named: number;
  /** Set when it named none of the trace's values (what it could not read, or why the values are unknown). */
  readonly failure?: string;
  /** With `-o html`: what the page shows (`output` is then empty: the page is drawn by explainPage). */
  readonly page?: ExplainPage;
}

/** Explains from databases already read (pure). */
export function explainTrace(
  r: ExplainRequest,
  sources: DecodeSources,
  missing: readonly string[] = [],
): Explanation {
  const input = explainInputKind(r.text);
  const { nb, sb } = sources;
  if (r.format === "detrace" && r.output === "text") {
    if (input !== "ofproto/trace")
      throw new InputError("--format detrace annotates ofproto/trace output only (as ovn-detrace does)");
    if (nb === undefined || sb === undefined)
      throw new ProcessError(`cannot annotate without the zone's databases: ${missing.join("; ")}`, {
        hint: "check that the node's ovnkube pod (or the lab, or the snapshot) can run ovsdb-client",
      });
    return { output: detrace(r.text, { nb, sb }), values: 0, named: 0 };
  }
  const e =
    input === "ofproto/trace" ? explainOfprotoTrace(r.text, sources) : explainOvnTrace(r.text, sources);
  const values = decodedValues(e);
  const named = values.filter((v) => v.known).length;
  // "northbound database of X's zone: why" → "northbound database of X's zone"
  const unread = missing.map((m) => m.split(": ")[0] ?? m);
  const failure =
    named === 0 && values.length > 0
      ? `named none of the ${String(values.length)} values of the trace: ${unread.length > 0 ? `could not read the ${unread.join(", the ")}` : [...new Set(values.map(whyUnknown))].join("; ")}`
      : undefined;
  const result = (output: string): Explanation => ({
    output,
    values: values.length,
    named,
    ...(failure === undefined ? {} : { failure }),
  });
  const lines = traceLines(r.text);
  const withDetrace = input === "ofproto/trace" && nb !== undefined && sb !== undefined;
  const notes = [
    ...missing.map((m) => `could not read the ${m}; its values show as unknown`),
    // which values that left unknown (always when nothing could be named)
    ...(missing.length > 0 || failure !== undefined ? unnamedNotes(values) : []),
  ];
  if (r.output !== "text") {
    const json: ExplainJson = versioned("Explanation", {
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
    });
    if (r.output === "html")
      return {
        ...result(""),
        page: {
          input,
          node: r.node,
          summary: e.summary,
          lines: json.lines,
          notes,
          text: r.text,
          ...(json.detrace === undefined ? {} : { detrace: json.detrace }),
          ...(withDetrace ? { annotations: detraceAnnotations(r.text, { nb, sb }) } : {}),
        },
      };
    return result(renderDocument(json, r.output));
  }
  return result(
    renderExplained(lines, e, {
      title: `${input} on ${r.node}`,
      notes,
      ...(withDetrace ? { annotations: detraceAnnotations(r.text, { nb, sb }) } : {}),
    }),
  );
}

/** The explanation's text (or document) alone. */
export function renderExplanation(
  r: ExplainRequest,
  sources: DecodeSources,
  missing: readonly string[] = [],
): string {
  return explainTrace(r, sources, missing).output;
}

/**
 * Explains from databases already read, in the request's `-o` (the page drawn for html), and the page for
 * `--html FILE`.
 */
export async function explainWithPage(
  r: ExplainRequest,
  sources: DecodeSources,
  missing: readonly string[] = [],
): Promise<Explanation & { readonly html?: string }> {
  const e = explainTrace(r, sources, missing);
  if (r.output !== "html" && r.htmlFile === undefined) return e;
  const { page } = r.output === "html" ? e : explainTrace({ ...r, output: "html" }, sources, missing);
  const html = page === undefined ? "" : await renderExplainHtml(page);
  return { ...e, ...(r.output === "html" ? { output: html } : {}), html };
}

/** Reads the node's databases through the backend, then explains. */
export async function explainOnBackend(
  r: ExplainRequest,
  b: ClusterBackend,
): Promise<Explanation & { readonly html?: string }> {
  explainInputKind(r.text);
  const { sources, missing } = await readNodeSources(b, r.node);
  return explainWithPage(r, sources, missing);
}

/** `ovnkube-trace explain FILE --node NODE`: the trace read from a file or standard input ("-"). */
export async function explainCommand(
  file: string,
  flags: { readonly node: string; readonly format: string; readonly output: string; readonly html?: string },
  cluster: ClusterChoice,
  /** Bounds every API call and exec. */
  timeoutMs?: number,
): Promise<CommandResult> {
  const text = Buffer.from(readInput(file)).toString("utf8");
  const request = explainRequest(text, flags.node, flags.format, flags.output, flags.html);
  const e = await withBackend(cluster, timeoutMs, (b) => explainOnBackend(request, b));
  return {
    output: e.output,
    ...(e.failure === undefined ? {} : { failure: e.failure }),
    ...(flags.html === undefined || e.html === undefined
      ? {}
      : { files: [{ path: flags.html, content: e.html }] }),
  };
}
