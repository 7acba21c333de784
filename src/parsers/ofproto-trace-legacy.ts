import type {
  LegacyActionsLine,
  LegacyReport,
  LegacyResubmitted,
  LegacyTableStep,
  LegacyTrace,
  LegacyTraceItem,
  OfprotoTraceLegacyDocument,
} from "../model/ofproto-trace-legacy.js";
import type { DatapathActionsLine, TraceFlowLine, TrailerLine } from "../model/ofproto-trace.js";
import type { MatchField } from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { datapathActionsOrNull } from "./datapath-actions.js";
import { DEFAULT_FLOW_PRIORITY } from "./dump-flows.js";
import { flowLine } from "./ofproto-trace.js";
import { headLines, locate, splitLines, splitTopLevelCommas } from "./text.js";
import { guardParse, ParseError } from "../errors.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const RULE_RE = /^Rule: table=(\d+) cookie=(\S+)(?: (.*))?$/;
const ACTIONS_RE = /^OpenFlow actions=(.*)$/;
const RESUBMITTED_RE = /^Resubmitted\s+(flow|regs|odp|megaflow):(.*)$/;
const TRANSLATION_FAILED_RE = /^Translation failed \((.*)\), packet is dropped\.$/;
const SLOW_PATH_HEADING = "This flow is handled by the userspace slow path because it:";
/** Lines only the OVS 2.7+ format prints. */
const MODERN_RE = /^(?:bridge\(".*"\)|\d+\. .*|-{10,}|={10,}|recirc\(0x[0-9a-fA-F]+\) - .*)$/;
/** Lines only this format prints. */
const LEGACY_MARK_RE =
  /^(?:Bridge: \S|Rule: table=\d|OpenFlow actions=|Resubmitted\s+(?:flow|regs|odp|megaflow):)/;
const TAB_WIDTH = 8;

type StepDraft = Mutable<LegacyTableStep> & { items: LegacyTraceItem[] };

interface TraceDraft {
  readonly bridge: LegacyTrace["bridge"];
  readonly flow: TraceFlowLine;
  readonly items: LegacyTraceItem[];
  finalFlow: TraceFlowLine | null;
  megaflow: TraceFlowLine | null;
  datapathActions: DatapathActionsLine | null;
  translationFailure: string | null;
  readonly trailer: Mutable<TrailerLine>[];
  /** The indentation widths of the open nesting levels, shallowest first. */
  readonly widths: number[];
  /** The open table steps, shallowest first. */
  steps: StepDraft[];
  pending: { fields: Mutable<LegacyResubmitted>; sources: SourceRef[] } | null;
}

/** Parses `ovs-appctl ofproto/trace` output in the format before OVS 2.7 (one or more runs). */
export function parseOfprotoTraceLegacy(text: string): OfprotoTraceLegacyDocument {
  return guardParse("ofproto/trace output (format before OVS 2.7)", () =>
    new LegacyParser(splitLines(text)).parse(),
  );
}

/**
 * Cheap sniffer: a `Flow:` line and a line only the old format prints (`Bridge:`, `Rule: table=`,
 * `OpenFlow actions=`, `Resubmitted ...:`) among the first 50 lines, and no `bridge("...")` line.
 */
export function looksLikeOfprotoTraceLegacy(text: string): boolean {
  const lines = headLines(text, 50);
  return (
    lines.some((l) => l.startsWith("Flow: ")) &&
    lines.some((l) => LEGACY_MARK_RE.test(l.trim())) &&
    !lines.some((l) => /^\s*bridge\(".*"\)\s*$/.test(l))
  );
}

/** Columns of leading blanks, a tab advancing to the next multiple of 8. */
function widthOf(raw: string): number {
  let width = 0;
  for (const c of raw) {
    if (c === " ") width++;
    else if (c === "\t") width = (Math.floor(width / TAB_WIDTH) + 1) * TAB_WIDTH;
    else break;
  }
  return width;
}

/** `priority=10,in_port=1,dl_src=...` (cls_rule_format): the priority and the match fields. */
function ruleMatch(text: string): { priority: number; match: MatchField[] } {
  let priority = DEFAULT_FLOW_PRIORITY;
  const match: MatchField[] = [];
  for (const item of splitTopLevelCommas(text).parts) {
    const eq = item.indexOf("=");
    const field = eq === -1 ? item : item.slice(0, eq);
    const value = item.slice(eq + 1);
    if (field === "priority" && /^\d+$/.test(value)) priority = Number(value);
    else if (item !== "") match.push(eq === -1 ? { field } : { field, value });
  }
  return { priority, match };
}

class LegacyParser {
  private readonly traces: LegacyTrace[] = [];
  private readonly unconsumed: SourceRef[] = [];
  private trace: TraceDraft | null = null;
  private bridge: { source: SourceRef; name: string } | null = null;
  private openTrailer: Mutable<TrailerLine> | null = null;
  private lastSource: SourceRef | null = null;

  constructor(private readonly lines: readonly string[]) {}

  parse(): OfprotoTraceLegacyDocument {
    this.lines.forEach((text, i) => {
      const source = { line: i + 1, text };
      this.handle(source);
      this.lastSource = source;
    });
    this.complete(null);
    if (this.bridge !== null) this.unconsumed.push(this.bridge.source);
    const first = this.lines.findIndex((l) => l.trim() !== "");
    const where = first === -1 ? {} : { line: first + 1, excerpt: this.lines[first] ?? "" };
    if (this.traces.length === 0) {
      throw new ParseError('not ofproto/trace output (no "Flow:" line)', where);
    }
    if (!this.traces.some((t) => t.bridge !== null || t.items.some((i) => i.kind === "table"))) {
      throw new ParseError(
        'not ofproto/trace output in the format before OVS 2.7 (no "Bridge:" or "Rule:" line)',
        where,
      );
    }
    this.unconsumed.sort((a, b) => a.line - b.line);
    return {
      kind: "ofproto-trace-legacy",
      traces: this.traces,
      unconsumed: this.unconsumed,
      lineCount: this.lines.length,
    };
  }

  private handle(source: SourceRef): void {
    const raw = source.text;
    const trimmed = raw.trim();
    if (trimmed === "") return;
    if (MODERN_RE.test(trimmed)) {
      throw new ParseError(
        "ofproto/trace output in the OVS 2.7+ format is read as kind ofproto-trace",
        locate(source),
      );
    }
    const trace = this.trace;
    if (trimmed.startsWith("Bridge: ")) {
      this.complete(source);
      if (this.bridge !== null) this.unconsumed.push(this.bridge.source);
      this.bridge = { source, name: trimmed.slice("Bridge: ".length).trim() };
    } else if (raw.startsWith("Flow:")) {
      this.complete(source);
      this.startTrace(source);
    } else if (trace === null) {
      this.unconsumed.push(source);
    } else if (raw.startsWith("Final flow:")) {
      this.endBody(trace);
      trace.finalFlow = this.once(trace.finalFlow, "Final flow:", source);
    } else if (raw.startsWith("Megaflow:")) {
      this.endBody(trace);
      trace.megaflow = this.once(trace.megaflow, "Megaflow:", source);
    } else if (raw.startsWith("Datapath actions:")) {
      this.endBody(trace);
      this.datapathActions(trace, source);
    } else if (trace.datapathActions !== null) {
      this.trailerLine(trace, source, trimmed);
    } else if (trace.finalFlow !== null || trace.megaflow !== null) {
      this.unconsumed.push(source);
    } else {
      this.bodyLine(trace, source, trimmed);
    }
  }

  private startTrace(source: SourceRef): void {
    this.trace = {
      bridge: this.bridge,
      flow: flowLine(source, source.text.slice("Flow:".length)),
      items: [],
      finalFlow: null,
      megaflow: null,
      datapathActions: null,
      translationFailure: null,
      trailer: [],
      widths: [],
      steps: [],
      pending: null,
    };
    this.bridge = null;
    this.openTrailer = null;
  }

  /** Files the current trace; `next` is the line that ends it (a new run, or null at the end). */
  private complete(next: SourceRef | null): void {
    const trace = this.trace;
    if (trace === null) return;
    this.endBody(trace);
    if (trace.datapathActions === null) {
      throw new ParseError(
        next === null
          ? 'truncated ofproto/trace output: the last run has no "Datapath actions:" line'
          : 'interleaved or truncated ofproto/trace output: a run ends without a "Datapath actions:" line',
        locate(next ?? this.lastSource ?? trace.flow.source),
      );
    }
    this.traces.push({
      bridge: trace.bridge,
      flow: trace.flow,
      items: trace.items,
      finalFlow: trace.finalFlow,
      megaflow: trace.megaflow,
      datapathActions: trace.datapathActions,
      translationFailure: trace.translationFailure,
      trailer: trace.trailer,
    });
    this.trace = null;
  }

  /** The lookups are over: `Resubmitted ...` lines that no lookup followed are left unconsumed. */
  private endBody(trace: TraceDraft): void {
    if (trace.pending !== null) this.unconsumed.push(...trace.pending.sources);
    trace.pending = null;
    trace.steps = [];
  }

  private once(current: TraceFlowLine | null, label: string, source: SourceRef): TraceFlowLine {
    if (current !== null) {
      throw new ParseError(
        `interleaved ofproto/trace output: a second "${label}" line in one run`,
        locate(source),
      );
    }
    return flowLine(source, source.text.slice(label.length));
  }

  private datapathActions(trace: TraceDraft, source: SourceRef): void {
    if (trace.datapathActions !== null) {
      throw new ParseError(
        'interleaved ofproto/trace output: a second "Datapath actions:" line in one run',
        locate(source),
      );
    }
    const text = source.text.slice("Datapath actions:".length).trim();
    const actions = datapathActionsOrNull(text);
    if (actions === null) {
      throw new ParseError(
        'unbalanced parentheses in "Datapath actions:" (a cut or mangled line)',
        locate(source),
      );
    }
    trace.datapathActions = { source, text, actions };
  }

  private trailerLine(trace: TraceDraft, source: SourceRef, trimmed: string): void {
    const failed = TRANSLATION_FAILED_RE.exec(trimmed);
    if (failed) {
      trace.translationFailure = failed[1] ?? "";
      this.addTrailer(trace, "translation-failed", source, failed[1] ?? "");
    } else if (trimmed === SLOW_PATH_HEADING) {
      this.addTrailer(trace, "slow-path", source, trimmed);
    } else if (trimmed.startsWith("- ") && this.openTrailer?.kind.startsWith("slow-path") === true) {
      this.addTrailer(trace, "slow-path-reason", source, trimmed.slice(2));
    } else {
      this.unconsumed.push(source);
    }
  }

  private addTrailer(trace: TraceDraft, kind: TrailerLine["kind"], source: SourceRef, text: string): void {
    const line: Mutable<TrailerLine> = { kind, source, text, continuation: [] };
    trace.trailer.push(line);
    this.openTrailer = line;
  }

  /** How deep a line between `Flow:` and `Final flow:` is, from its indentation (any unit: tabs or spaces). */
  private depthOf(trace: TraceDraft, raw: string): number {
    const width = widthOf(raw);
    const widths = trace.widths;
    while (widths.length > 0 && (widths.at(-1) ?? 0) > width) widths.pop();
    if (widths.length === 0 || (widths.at(-1) ?? 0) < width) widths.push(width);
    return widths.length - 1;
  }

  private bodyLine(trace: TraceDraft, source: SourceRef, trimmed: string): void {
    const depth = this.depthOf(trace, source.text);
    const resubmitted = RESUBMITTED_RE.exec(trimmed);
    if (resubmitted) {
      this.resubmittedLine(trace, source, resubmitted[1] ?? "", resubmitted[2] ?? "");
      return;
    }
    const rule = RULE_RE.exec(trimmed);
    if (rule || trimmed === "No match") {
      this.step(trace, source, depth, rule);
      return;
    }
    const actions = ACTIONS_RE.exec(trimmed);
    const last = trace.steps.at(-1);
    if (actions) {
      if (last === undefined || last.actions !== null || last.miss || last.depth !== depth) {
        this.unconsumed.push(source);
        return;
      }
      last.actions = actionsLine(source, actions[1] ?? "");
      return;
    }
    const report: LegacyReport = { kind: "report", source, depth, text: trimmed };
    const parent = [...trace.steps].reverse().find((s) => s.depth <= depth);
    (parent?.items ?? trace.items).push(report);
  }

  private resubmittedLine(trace: TraceDraft, source: SourceRef, what: string, text: string): void {
    trace.pending ??= { fields: { flow: null, regs: null, odp: null, megaflow: null }, sources: [] };
    const fields = trace.pending.fields;
    const field = what === "regs" || what === "odp" || what === "megaflow" ? what : "flow";
    if (fields[field] !== null) {
      this.unconsumed.push(source);
      return;
    }
    trace.pending.sources.push(source);
    if (field === "regs") {
      const values = text
        .trim()
        .split(/\s+/)
        .flatMap((item): [string, string][] => {
          const eq = item.indexOf("=");
          return eq > 0 ? [[item.slice(0, eq), item.slice(eq + 1)]] : [];
        });
      fields.regs = { source, values: Object.fromEntries(values) };
    } else if (field === "odp") {
      fields.odp = { source, text: text.trim(), actions: datapathActionsOrNull(text.trim()) };
    } else {
      fields[field] = flowLine(source, text);
    }
  }

  private step(trace: TraceDraft, source: SourceRef, depth: number, rule: RegExpExecArray | null): void {
    const matchText = rule === null ? null : (rule[3] ?? "").trimEnd();
    const parsed = matchText === null ? null : ruleMatch(matchText);
    const step: StepDraft = {
      kind: "table",
      source,
      depth,
      table: rule === null ? null : Number(rule[1]),
      cookie: rule?.[2] ?? null,
      priority: parsed?.priority ?? null,
      matchText,
      match: parsed?.match ?? [],
      miss: rule === null,
      resubmitted: trace.pending?.fields ?? null,
      actions: null,
      items: [],
    };
    trace.pending = null;
    while ((trace.steps.at(-1)?.depth ?? -1) >= depth) trace.steps.pop();
    (trace.steps.at(-1)?.items ?? trace.items).push(step);
    trace.steps.push(step);
  }
}

function actionsLine(source: SourceRef, text: string): LegacyActionsLine {
  const actionsText = text.trimEnd();
  const { parts, balanced } = splitTopLevelCommas(actionsText);
  return { source, text: actionsText, actions: parts, balanced };
}
