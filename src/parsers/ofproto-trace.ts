import type {
  ActionLine,
  BridgeBlock,
  DatapathActionsLine,
  DetraceAnnotation,
  FlowItem,
  TraceGroupBucket,
  NatSimulation,
  NoteLine,
  OfprotoTraceDocument,
  RecircHeader,
  RecirculationLimit,
  TableStep,
  ThawBlock,
  TraceFlowLine,
  TraceItem,
  TracePass,
  TrailerLine,
} from "../model/ofproto-trace.js";
import type { SourceRef } from "../model/source.js";
import { parseDatapathActions } from "./datapath-actions.js";
import { locate, splitTopLevelCommas } from "./text.js";
import { guardParse, ParseError } from "../errors.js";
import { splitLines } from "./text.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

const TABLE_RE = /^(\d+)\. (.*)$/;
const RULE_RE = /^(?:(.*), )?priority (\d+)(?:, cookie (0x[0-9a-fA-F]+))?$/;
const BRIDGE_RE = /^bridge\("(.*)"\)$/;
const BUCKET_RE = /^bucket (\d+)$/;
const RESUME_RE = /^Resuming from table (\d+)$/;
const RESTORE_RE = /^Restoring actions:\s*(.*)$/;
const RESUBMIT_RE = /^(?:resubmit\([^,()]*,(\d+)(?:,[^()]*)?\)|goto_table:(\d+))$/;
const ANNOTATION_RE = /^( *)\*(?:( +)(.*))?$/;
const SEPARATOR_RE = /^={10,}$/;
const RECIRC_RE =
  /^recirc\((0x[0-9a-fA-F]+)\)(?: - resume conntrack with (default )?ct_state=(\S+)(?: \(use --ct-next to customize\))?)?$/;
const NAT_HEADING = "Replacing src/dst IP/ports to simulate NAT:";
const LIMIT_PREFIX = "Trace reached the recirculation limit.";
const QUEUED_RE = /^Queued but not processed: (\d+) recirculations?\.$/;
const TRANSLATION_FAILED_RE = /^Translation failed \((.*)\), packet is dropped\.$/;
const SLOW_PATH_HEADING = "This flow is handled by the userspace slow path because it:";
const EXECUTION_FAILED_RE = /^Action execution failed \((.*)\)$/;
/** The format before OVS 2.7 (`Bridge:`, `Rule:`, `OpenFlow actions=`, `Resubmitted flow:`). */
const LEGACY_RE =
  /^(?:Bridge: |\s*Rule: table=|\s*OpenFlow actions=|\s*Resubmitted (?:flow|regs|odp|megaflow):)/;

/** A line inside a bridge block, with the column OVS printed its tree node at (see `columnOf`). */
type TreeLine =
  | { readonly kind: "table"; readonly column: number; readonly table: number; readonly body: string }
  | { readonly kind: "bridge"; readonly column: number; readonly name: string }
  | { readonly kind: "bucket"; readonly column: number; readonly bucket: number }
  | { readonly kind: "thaw"; readonly column: number }
  | { readonly kind: "resume"; readonly column: number; readonly table: number }
  | { readonly kind: "restore"; readonly column: number; readonly actions: string }
  | {
      readonly kind: "note";
      readonly column: number;
      readonly level: NoteLine["level"];
      readonly text: string;
    }
  | { readonly kind: "action"; readonly column: number; readonly text: string };

/** An open node that later lines can be printed under. */
interface Container {
  readonly kind: "table" | "bridge" | "bucket" | "thaw";
  readonly column: number;
  readonly items: TraceItem[];
  readonly bridge: string;
  /** Table steps and buckets from the pass's bridge down to this container, itself included. */
  readonly enclosing: number;
  readonly thaw: Mutable<ThawBlock> | null;
}

interface PassBuilder {
  readonly recirc: RecircHeader | null;
  readonly flow: TraceFlowLine;
  readonly bridges: BridgeBlock[];
  finalFlow: TraceFlowLine | null;
  megaflow: TraceFlowLine | null;
  datapathActions: DatapathActionsLine | null;
  translationFailure: string | null;
  readonly trailer: Mutable<TrailerLine>[];
}

/** The lines between two `=====` separators. */
interface HeaderBuilder {
  readonly lines: SourceRef[];
  readonly separators: SourceRef[];
  recirc: { source: SourceRef; recircId: string; ctState: string | null; ctStateDefault: boolean } | null;
  nat: Mutable<NatSimulation> | null;
  closed: boolean;
}

/** Parses `ovs-appctl ofproto/trace` output (OVS 2.7+), with or without `ovn-detrace` annotations. */
export function parseOfprotoTrace(text: string): OfprotoTraceDocument {
  return guardParse("ofproto/trace output", () => new TraceParser(splitLines(text)).parse());
}

/** Cheap sniffer: a `Flow:` line and a `bridge("...")` / `Datapath actions:` line among the first 50 lines. */
export function looksLikeOfprotoTrace(text: string): boolean {
  let flow = false;
  let structure = false;
  for (const line of text.split("\n", 50)) {
    if (line.startsWith("Flow: ")) flow = true;
    else if (
      /^\s*bridge\(".*"\)\s*$/.test(line) ||
      /^(?:Datapath actions|Megaflow|Final flow): /.test(line)
    ) {
      structure = true;
    } else if (LEGACY_RE.test(line)) structure = true;
  }
  return flow && structure;
}

/** Every table step under `items`, in printed order (a nested step right after the lines printed before it). */
export function tableSteps(items: readonly TraceItem[]): TableStep[] {
  const steps: TableStep[] = [];
  for (const item of items) {
    if (item.kind === "table") steps.push(item);
    if (item.kind === "table" || item.kind === "bridge" || item.kind === "bucket" || item.kind === "thaw") {
      steps.push(...tableSteps(item.items));
    }
  }
  return steps;
}

/** The last table step printed in a pass (where a dropped packet's pipeline ended); null when there is none. */
export function lastTableStep(pass: TracePass): TableStep | null {
  return tableSteps(pass.bridges).at(-1) ?? null;
}

class TraceParser {
  private readonly passes: TracePass[] = [];
  private readonly unconsumed: SourceRef[] = [];
  private pass: PassBuilder | null = null;
  private header: HeaderBuilder | null = null;
  private stack: Container[] = [];
  private lastStep: { readonly annotations: DetraceAnnotation[] } | null = null;
  private lastAnnotation: { readonly continuation: { text: string; source: SourceRef }[] } | null = null;
  private annotationIndent: number | null = null;
  private awaitingUnderline: Mutable<BridgeBlock> | null = null;
  private openTrailer: Mutable<TrailerLine> | null = null;
  private recirculationLimit: Mutable<RecirculationLimit> | null = null;
  private detraced = false;
  private treeTextLines = 0;
  private indentedTreeTextLines = 0;
  private lastSource: SourceRef | null = null;

  constructor(private readonly lines: readonly string[]) {}

  parse(): OfprotoTraceDocument {
    this.lines.forEach((text, i) => {
      const source = { line: i + 1, text };
      this.handle(source);
      this.lastSource = source;
    });
    this.finish();
    return {
      kind: "ofproto-trace",
      passes: this.passes,
      detraced: this.detraced,
      indentationLost: this.treeTextLines > 0 && this.indentedTreeTextLines === 0,
      recirculationLimit: this.recirculationLimit,
      unconsumed: this.unconsumed,
      lineCount: this.lines.length,
    };
  }

  private handle(source: SourceRef): void {
    const raw = source.text;
    const trimmed = raw.trim();
    if (trimmed === "") {
      this.endAnnotationRun();
      this.awaitingUnderline = null;
      return;
    }
    if (this.awaitingUnderline !== null && /^-+$/.test(trimmed)) {
      this.awaitingUnderline.underline = source;
      this.awaitingUnderline = null;
      return;
    }
    this.awaitingUnderline = null;
    if (ANNOTATION_RE.test(raw)) {
      this.annotation(source);
      return;
    }
    this.endAnnotationRun();
    if (LEGACY_RE.test(raw)) {
      throw new ParseError(
        "ofproto/trace output in the format before OVS 2.7 (Bridge:/Rule:/OpenFlow actions=) is another kind",
        locate(source),
        { hint: "read it as kind ofproto-trace-legacy (--as ofproto-trace-legacy)" },
      );
    }
    if (raw.startsWith("Flow:")) this.startPass(source);
    else if (SEPARATOR_RE.test(trimmed)) this.separator(source);
    else if (this.header !== null && !this.header.closed) this.headerLine(source, trimmed);
    else if (raw.startsWith("Final flow:")) this.passFlow(source, "finalFlow", "Final flow:");
    else if (raw.startsWith("Megaflow:")) this.passFlow(source, "megaflow", "Megaflow:");
    else if (raw.startsWith("Datapath actions:")) this.datapathActions(source);
    else if (this.pass !== null && this.pass.datapathActions !== null) this.trailerLine(source, trimmed);
    else if (this.pass !== null && this.pass.finalFlow === null && this.pass.megaflow === null) {
      this.treeLine(source);
    } else this.unconsumed.push(source);
  }

  // --- passes -----------------------------------------------------------------------------------

  private startPass(source: SourceRef): void {
    this.completePass(source);
    this.pass = {
      recirc: this.takeHeader(),
      flow: flowLine(source, source.text.slice("Flow:".length)),
      bridges: [],
      finalFlow: null,
      megaflow: null,
      datapathActions: null,
      translationFailure: null,
      trailer: [],
    };
    this.stack = [];
    this.lastStep = null;
    this.openTrailer = null;
  }

  /** Files the current pass; `next` is the line that ends it (a new pass, a separator, the end). */
  private completePass(next: SourceRef | null): void {
    const pass = this.pass;
    if (pass === null) return;
    if (pass.datapathActions === null) {
      const where = next ?? this.lastSource ?? pass.flow.source;
      throw new ParseError(
        next === null
          ? 'truncated ofproto/trace output: the last pass has no "Datapath actions:" line'
          : 'interleaved or truncated ofproto/trace output: a pass ends without a "Datapath actions:" line',
        locate(where),
      );
    }
    this.passes.push({ ...pass, datapathActions: pass.datapathActions });
    this.pass = null;
    this.stack = [];
  }

  /** The `Final flow:` or `Megaflow:` line of the current pass (one of each). */
  private passFlow(source: SourceRef, field: "finalFlow" | "megaflow", label: string): void {
    const pass = this.requirePass(source);
    if (pass === null) return;
    if (pass[field] !== null) throw duplicate(label, source);
    pass[field] = flowLine(source, source.text.slice(label.length));
    this.stack = [];
  }

  private datapathActions(source: SourceRef): void {
    const pass = this.requirePass(source);
    if (pass === null) return;
    if (pass.datapathActions !== null) throw duplicate("Datapath actions:", source);
    const text = source.text.slice("Datapath actions:".length).trim();
    try {
      pass.datapathActions = { source, text, actions: parseDatapathActions(text) };
    } catch (e) {
      // guardParse gives a parser bug a cause: let that one through unchanged.
      if (e instanceof ParseError && e.cause === undefined) {
        throw new ParseError(
          'unbalanced parentheses in "Datapath actions:" (a cut or mangled line)',
          locate(source),
        );
      }
      throw e;
    }
    this.stack = [];
  }

  /** The open pass, or null (and the line unconsumed) when there is none. */
  private requirePass(source: SourceRef): PassBuilder | null {
    if (this.pass === null) this.unconsumed.push(source);
    return this.pass;
  }

  private trailerLine(source: SourceRef, trimmed: string): void {
    const pass = this.pass;
    if (pass === null) return;
    const failed = TRANSLATION_FAILED_RE.exec(trimmed);
    const execution = EXECUTION_FAILED_RE.exec(trimmed);
    const open = this.openTrailer;
    if (failed) {
      pass.translationFailure = failed[1] ?? "";
      this.addTrailer(pass, "translation-failed", source, failed[1] ?? "");
    } else if (trimmed === SLOW_PATH_HEADING) {
      this.addTrailer(pass, "slow-path", source, trimmed);
    } else if (trimmed.startsWith("- ") && open !== null && open.kind.startsWith("slow-path")) {
      this.addTrailer(pass, "slow-path-reason", source, trimmed.slice(2));
    } else if (execution) {
      this.addTrailer(pass, "execution-failed", source, execution[1] ?? "");
    } else if (trimmed === "." && open?.kind === "execution-failed") {
      open.continuation = [...open.continuation, source];
    } else {
      this.unconsumed.push(source);
    }
  }

  private addTrailer(pass: PassBuilder, kind: TrailerLine["kind"], source: SourceRef, text: string): void {
    const line: Mutable<TrailerLine> = { kind, source, text, continuation: [] };
    pass.trailer.push(line);
    this.openTrailer = line;
  }

  // --- recirculation headers --------------------------------------------------------------------

  private separator(source: SourceRef): void {
    const header = this.header;
    if (header !== null && !header.closed) {
      header.separators.push(source);
      header.lines.push(source);
      header.closed = true;
      return;
    }
    this.completePass(source);
    this.dropHeader();
    this.header = { lines: [source], separators: [source], recirc: null, nat: null, closed: false };
  }

  private headerLine(source: SourceRef, trimmed: string): void {
    const header = this.header;
    if (header === null) return;
    const recirc = RECIRC_RE.exec(trimmed);
    const initial = /^Initial flow:(.*)$/.exec(trimmed);
    const modified = /^Modified flow:(.*)$/.exec(trimmed);
    const queued = QUEUED_RE.exec(trimmed);
    if (recirc && header.recirc === null) {
      header.recirc = {
        source,
        recircId: recirc[1] ?? "",
        ctState: recirc[3] ?? null,
        ctStateDefault: recirc[2] !== undefined,
      };
    } else if (trimmed === NAT_HEADING && header.nat === null) {
      header.nat = { source, initial: null, modified: null };
    } else if (initial && header.nat?.initial === null) {
      header.nat.initial = flowLine(source, initial[1] ?? "");
    } else if (modified && header.nat?.modified === null) {
      header.nat.modified = flowLine(source, modified[1] ?? "");
    } else if (trimmed.startsWith(LIMIT_PREFIX)) {
      this.recirculationLimit = { source, queued: null, lines: [...header.separators, source] };
      return;
    } else if (queued && this.recirculationLimit !== null) {
      this.recirculationLimit.queued = Number(queued[1]);
      this.recirculationLimit.lines = [...this.recirculationLimit.lines, source];
      return;
    } else {
      this.unconsumed.push(source);
      return;
    }
    header.lines.push(source);
  }

  /** The header that opens the pass starting now; a header without `recirc(...)` line is not one. */
  private takeHeader(): RecircHeader | null {
    const header = this.header;
    this.header = null;
    if (header?.recirc == null) {
      if (header !== null) this.unconsumed.push(...header.lines);
      return null;
    }
    return { ...header.recirc, nat: header.nat, separators: header.separators };
  }

  /** A header that no pass followed. */
  private dropHeader(): void {
    const header = this.header;
    this.header = null;
    if (header === null) return;
    if (header.recirc !== null) {
      throw new ParseError(
        "truncated or interleaved ofproto/trace output: a recirculation header without its pass",
        locate(header.recirc.source),
      );
    }
    this.unconsumed.push(...header.lines.filter((l) => !this.recirculationLimit?.lines.includes(l)));
  }

  private finish(): void {
    this.completePass(null);
    this.dropHeader();
    if (this.passes.length === 0) {
      const first = this.lines.findIndex((l) => l.trim() !== "");
      throw new ParseError(
        'not ofproto/trace output (no "Flow:" line)',
        first === -1 ? {} : { line: first + 1, excerpt: this.lines[first] ?? "" },
      );
    }
    this.unconsumed.sort((a, b) => a.line - b.line);
  }

  // --- ovn-detrace annotations ------------------------------------------------------------------

  private annotation(source: SourceRef): void {
    const m = ANNOTATION_RE.exec(source.text);
    const step = this.lastStep;
    if (!m || step === null) {
      this.unconsumed.push(source);
      return;
    }
    const indent = (m[1] ?? "").length;
    const gap = (m[2] ?? "").length;
    const content = (m[3] ?? "").trimEnd();
    this.detraced = true;
    // `Logical datapaths:` is followed by one `*     "name" (uuid) [pipeline]` line per datapath.
    if (gap >= 4 && this.lastAnnotation !== null) {
      this.lastAnnotation.continuation.push({ text: content, source });
      return;
    }
    this.annotationIndent ??= indent;
    const continuation: { text: string; source: SourceRef }[] = [];
    const annotation = { source, ...splitLabel(content), hint: indent > this.annotationIndent, continuation };
    step.annotations.push(annotation);
    this.lastAnnotation = annotation;
  }

  private endAnnotationRun(): void {
    this.lastAnnotation = null;
    this.annotationIndent = null;
  }

  // --- bridge blocks ----------------------------------------------------------------------------

  private treeLine(source: SourceRef): void {
    if (/^\s*-+\s*$/.test(source.text)) {
      // A bridge's underline away from its bridge line.
      this.unconsumed.push(source);
      return;
    }
    const line = classifyTreeLine(source.text);
    if (line.kind === "action" || line.kind === "note") {
      this.treeTextLines++;
      if (/^\s/.test(source.text)) this.indentedTreeTextLines++;
    }
    if (line.kind === "bridge") {
      this.bridge(source, line);
      return;
    }
    const parent = this.parentFor(line);
    if (parent === null) {
      this.unconsumed.push(source);
      return;
    }
    this.place(source, line, parent);
  }

  private bridge(source: SourceRef, line: Extract<TreeLine, { kind: "bridge" }>): void {
    const parent = this.parentFor(line);
    const items: TraceItem[] = [];
    const block: Mutable<BridgeBlock> = {
      kind: "bridge",
      source,
      name: line.name,
      underline: null,
      nested: parent !== null,
      items,
    };
    if (parent === null) {
      this.pass?.bridges.push(block);
      this.stack = [];
    } else {
      parent.items.push(block);
    }
    this.stack.push({
      kind: "bridge",
      column: line.column,
      items,
      bridge: line.name,
      enclosing: parent?.enclosing ?? 0,
      thaw: null,
    });
    this.awaitingUnderline = block;
  }

  /**
   * The open node `line` is printed under, closing the nodes it is not under. OVS indents a node's children
   * deeper than the node except for the last non-leaf child (a resubmit's table, a patch port's bridge), which
   * it prints at the node's own column (lib/ofproto-dpif-trace.c, oftrace_node_print_details).
   * When nothing encloses the line (indentation stripped), it goes under the innermost open node.
   */
  private parentFor(line: TreeLine): Container | null {
    for (let i = this.stack.length - 1; i >= 0; i--) {
      const container = this.stack[i];
      if (container !== undefined && encloses(container, line)) {
        this.stack.length = i + 1;
        return container;
      }
    }
    if (line.kind === "bridge") return null;
    return this.stack.at(-1) ?? null;
  }

  private place(source: SourceRef, line: Exclude<TreeLine, { kind: "bridge" }>, parent: Container): void {
    switch (line.kind) {
      case "table": {
        const items: TraceItem[] = [];
        const annotations: DetraceAnnotation[] = [];
        parent.items.push(tableStep(source, line, parent, items, annotations));
        this.push(line.column, "table", items, parent, null);
        this.lastStep = { annotations };
        return;
      }
      case "bucket": {
        const items: TraceItem[] = [];
        const bucket: TraceGroupBucket = { kind: "bucket", source, bucket: line.bucket, items };
        parent.items.push(bucket);
        this.push(line.column, "bucket", items, parent, null);
        return;
      }
      case "thaw": {
        const items: TraceItem[] = [];
        const thaw: Mutable<ThawBlock> = {
          kind: "thaw",
          source,
          resumeTable: null,
          restoringActions: null,
          items,
        };
        parent.items.push(thaw);
        this.push(line.column, "thaw", items, parent, thaw);
        return;
      }
      case "resume":
        parent.items.push({ kind: "resume", source, table: line.table });
        if (parent.thaw !== null) parent.thaw.resumeTable ??= line.table;
        return;
      case "restore":
        parent.items.push({ kind: "restore", source, actions: line.actions });
        if (parent.thaw !== null) parent.thaw.restoringActions ??= line.actions;
        return;
      case "note":
        parent.items.push({ kind: "note", source, level: line.level, text: line.text });
        return;
      case "action":
        parent.items.push(actionLine(source, line.text));
        return;
    }
  }

  private push(
    column: number,
    kind: Container["kind"],
    items: TraceItem[],
    parent: Container,
    thaw: Mutable<ThawBlock> | null,
  ): void {
    const counts = kind === "table" || kind === "bucket";
    this.stack.push({
      kind,
      column,
      items,
      bridge: parent.bridge,
      enclosing: parent.enclosing + (counts ? 1 : 0),
      thaw,
    });
  }
}

/** Whether `line`, printed at its column, is a child of `container`. */
function encloses(container: Container, line: TreeLine): boolean {
  if (line.kind === "bridge") {
    // A patch port's bridge, as the last child of a step, is printed at the step's column.
    return container.kind === "table"
      ? line.column >= container.column
      : container.kind === "bucket" && line.column > container.column;
  }
  if (line.column > container.column) return true;
  // The first table of a bridge is the bridge's last child: same column.
  return line.column === container.column && container.kind === "bridge" && line.kind === "table";
}

function classifyTreeLine(raw: string): TreeLine {
  const text = raw.trim();
  const indent = raw.length - raw.trimStart().length;
  const table = TABLE_RE.exec(text);
  if (table) {
    const digits = table[1] ?? "";
    // `%2d. `: a one-digit table number carries a space of padding in front of it.
    const column = Math.max(0, indent - (digits.length === 1 ? 1 : 0));
    return { kind: "table", column, table: Number(digits), body: table[2] ?? "" };
  }
  const bridge = BRIDGE_RE.exec(text);
  if (bridge) return { kind: "bridge", column: indent, name: bridge[1] ?? "" };
  const bucket = BUCKET_RE.exec(text);
  if (bucket) return { kind: "bucket", column: indent, bucket: Number(bucket[1]) };
  if (text === "thaw") return { kind: "thaw", column: indent };
  const resume = RESUME_RE.exec(text);
  if (resume) return { kind: "resume", column: indent, table: Number(resume[1]) };
  const restore = RESTORE_RE.exec(text);
  if (restore) return { kind: "restore", column: indent, actions: restore[1] ?? "" };
  const note = noteOf(text);
  // ` -> `, ` >> `, ` >>>> `: the arrow is printed after one space of the node's indentation.
  if (note !== null) return { kind: "note", column: Math.max(0, indent - 1), ...note };
  return { kind: "action", column: indent, text };
}

function noteOf(text: string): { level: NoteLine["level"]; text: string } | null {
  const error = /^>>>> (.*) <<<<$/.exec(text);
  if (error) return { level: "error", text: error[1] ?? "" };
  const warning = /^>> (.*)$/.exec(text);
  if (warning) return { level: "warning", text: warning[1] ?? "" };
  const detail = /^->(?: (.*))?$/.exec(text);
  if (detail) return { level: "detail", text: detail[1] ?? "" };
  return null;
}

function tableStep(
  source: SourceRef,
  line: Extract<TreeLine, { kind: "table" }>,
  parent: Container,
  items: readonly TraceItem[],
  annotations: readonly DetraceAnnotation[],
): TableStep {
  return {
    kind: "table",
    source,
    table: line.table,
    text: line.body,
    ...ruleOf(line.body),
    bridge: parent.bridge,
    depth: parent.enclosing,
    items,
    annotations,
  };
}

function ruleOf(body: string): Pick<TableStep, "match" | "priority" | "cookie" | "miss"> {
  if (body.startsWith("No match") || body.startsWith("Packets are IP fragments")) {
    return { match: null, priority: null, cookie: null, miss: body };
  }
  const m = RULE_RE.exec(body);
  if (!m) return { match: null, priority: null, cookie: null, miss: null };
  return { match: m[1] ?? "", priority: Number(m[2]), cookie: m[3] ?? null, miss: null };
}

function actionLine(source: SourceRef, text: string): ActionLine {
  const resubmit = RESUBMIT_RE.exec(text);
  const target = resubmit?.[1] ?? resubmit?.[2];
  const clone = /^clone\((.*)\)$/.exec(text);
  return {
    kind: "action",
    source,
    text,
    name: (/^[^(:]*/.exec(text)?.[0] ?? text).trim(),
    resubmitTable: target === undefined ? null : Number(target),
    cloneActions: clone ? splitTopLevelCommas(clone[1] ?? "").parts : null,
  };
}

/** `Logical flow: table=0 (...), ...` → label "Logical flow"; a line without a `label:` keeps it all as text. */
function splitLabel(content: string): { label: string; text: string } {
  const colon = content.indexOf(":");
  if (colon <= 0 || /["(=[]/.test(content.slice(0, colon))) {
    return content.startsWith("[") ? { label: content, text: "" } : { label: "", text: content };
  }
  return { label: content.slice(0, colon), text: content.slice(colon + 1).trim() };
}

/** A `Flow:`-style line: the text after its label, split into items. */
export function flowLine(source: SourceRef, text: string): TraceFlowLine {
  const trimmed = text.trim();
  if (trimmed === "unchanged") {
    return { source, text: trimmed, unchanged: true, protocol: null, items: [], values: {} };
  }
  const items: FlowItem[] = splitTopLevelCommas(trimmed)
    .parts.filter((part) => part !== "")
    .map((part) => {
      const eq = part.indexOf("=");
      return eq === -1 ? { name: part, value: null } : { name: part.slice(0, eq), value: part.slice(eq + 1) };
    });
  const keywords = items.filter((item) => item.value === null);
  const values = Object.fromEntries(
    items.flatMap((item) => (item.value === null ? [] : [[item.name, item.value] as const])),
  );
  return { source, text: trimmed, unchanged: false, protocol: keywords.at(-1)?.name ?? null, items, values };
}

function duplicate(label: string, source: SourceRef): ParseError {
  return new ParseError(
    `interleaved ofproto/trace output: a second "${label}" line in one pass`,
    locate(source),
  );
}
