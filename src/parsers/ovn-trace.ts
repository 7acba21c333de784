import type {
  OvnTraceAction,
  OvnTraceBlock,
  OvnTraceComment,
  OvnTraceDocument,
  OvnTraceDrop,
  OvnTraceError,
  OvnTraceHeader,
  OvnTraceLogLine,
  OvnTraceMicroflow,
  OvnTraceNode,
  OvnTraceOutput,
  OvnTraceSection,
  OvnTraceStage,
  OvnTraceVerdict,
} from "../model/ovn-trace.js";
import type { SourceRef } from "../model/source.js";
import { ParseError, guardParse } from "../errors.js";
import { splitLines } from "./text.js";

/*
 * How ovn-trace prints (utilities/ovn-trace.c): the walk is a tree of nodes (pipelines, tables,
 * actions, transformations such as ct_next or clone). The detailed form indents a node only when it is not
 * the last child of its parent, so the main walk, where each table is the last child of the previous one,
 * comes out flat at column 0, while branches that are followed by more output (multicast egresses, a
 * clone in the middle of a table's actions, an ACL `LOG:`) come out indented by 4. Every pipeline and
 * transformation title is preceded by a blank line and underlined with dashes of the same indentation.
 * Stage numbers are printed with "%2d. ", so single-digit stages have one extra leading space.
 */

interface Line {
  readonly n: number;
  readonly raw: string;
  /** Without trailing white space. */
  readonly text: string;
}

interface WalkContext {
  readonly datapath?: string;
  readonly pipeline?: "ingress" | "egress";
}

type Mutable<T> = { -readonly [K in keyof T]: T[K] extends readonly (infer U)[] ? U[] : T[K] };
type SectionBuilder = Mutable<OvnTraceSection>;
type StageBuilder = Mutable<OvnTraceStage>;
type BlockBuilder = Mutable<OvnTraceBlock>;

const MICROFLOW = /^# (\S*=\S*)$/;
const BANNER = /^# (?:Detailed|Summary|Minimal) trace\.$/;
const LOG_LINE = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z\|\d+\|([\w-]+)\|([A-Z]+)\|(.*)$/;
const UNDERLINE = /^ *-+$/;
const STAGE_LINE = /^( *)(\d+)\. (.+)$/;
const FLOW_TAIL = /^(.*), priority (\d+)(?:, uuid ([0-9a-f]+))?$/;
const NO_MATCH = /^(?:([\w.-]+): )?no match \(implicit drop\)$/;
const OPENFLOW_LINE = /^cookie=0x[0-9a-f]+/;
const OPENFLOW_ERROR = /^\*\*\* (no OpenFlow flows|error obtaining flow stats.*)$/;
const OUTPUT_COMMENT = /^output to "(.*)", type "(.*)"$/;
const MINIMAL_OUTPUT = /^output\("(.*)"\);$/;
/** A transformation printed without children in the summary and minimal forms, as `title;`. */
const LEAF_TRANSFORMATION =
  /^(?:ct_next\(ct_state=[^)]*\)|ct_lb(?:_mark)? \/\*.*\*\/|ct_[sd]nat\S*(?:\(ip[46]\.\w+=[^)]*\)| \/\*.*\*\/).*|ct_commit_nat \/\*.*|ct_commit_to_zone\(\w+\).*|LOG: .*|select: .*);$/;
const PIPELINE_TITLE = /^(?:ingress|egress|multicast)\(dp=".*"\)$/;

const ERROR_LINES: readonly (readonly [RegExp, OvnTraceError["reason"]])[] = [
  [/^(?:ovn-trace: )?(unknown datapath "(.*)")$/, "unknown-datapath"],
  [/^(?:ovn-trace: )?(unknown port "(.*)")$/, "unknown-port"],
  [/^(?:ovn-trace: )?(error parsing flow: .*)$/, "parse-error"],
  [/^(?:ovn-trace: )?(failed to parse flow expression ".*")$/, "parse-error"],
  [/^(?:ovn-trace: )?(microflow does not specify ingress port)$/, "no-inport"],
  [/^ovn-trace: (.+)$/, "fatal"],
];

/**
 * Parses the output of one `ovn-trace` run (detailed, summary or minimal form, or an error such as
 * `unknown datapath "X"`). A text holding several traces (concatenated runs, or the three forms of
 * `ovn-trace --all`) is rejected: use `parseOvnTraces` for that.
 */
export function parseOvnTrace(text: string): OvnTraceDocument {
  return guardParse("ovn-trace output", () => {
    const lines = toLines(text);
    const chunks = splitTraces(lines);
    const [first, second] = chunks;
    if (first === undefined) throw new ParseError("empty input: no ovn-trace output", {});
    if (second !== undefined) {
      const start = lines[second.start];
      throw new ParseError(
        "several traces in one text (use parseOvnTraces)",
        { line: start?.n, excerpt: start?.raw },
        { hint: "each `# <microflow>` line, `--all` banner or error line starts a new trace" },
      );
    }
    return parseChunk(lines, first, undefined);
  });
}

/**
 * Parses a text holding one or more ovn-trace outputs: concatenated runs (each starts with its `# <flow>`
 * line or an error line) or the `--all` output (`# Detailed trace.`, `# Summary trace.`, `# Minimal
 * trace.`, which share the one microflow line). Returns one document per trace, in order; source lines
 * are numbered in the whole text, `lineCount` is the whole text's and each document's `unconsumed` only
 * lists lines of its own trace.
 */
export function parseOvnTraces(text: string): OvnTraceDocument[] {
  return guardParse("ovn-trace output", () => {
    const lines = toLines(text);
    const chunks = splitTraces(lines);
    if (chunks.length === 0) throw new ParseError("empty input: no ovn-trace output", {});
    const docs: OvnTraceDocument[] = [];
    for (const chunk of chunks) {
      const previous = docs[docs.length - 1];
      const shared = chunk.startsWithBanner ? previous?.microflow : undefined;
      docs.push(parseChunk(lines, chunk, shared));
    }
    return docs;
  });
}

/** A cheap check of the first lines: does this look like ovn-trace output? */
export function looksLikeOvnTrace(text: string): boolean {
  const head = splitLines(text.slice(0, 20_000)).slice(0, 50);
  return head.some((raw, i) => {
    const line = raw.trimEnd();
    if (/^# \S*\breg14=0x[0-9a-f]+\b\S*$/.test(line) || BANNER.test(line)) return true;
    if (/^ *(?:ingress|egress)\(dp="[^"]*", (?:in|out)port="[^"]*".*\)(?: \{)?$/.test(line)) {
      return line.endsWith(" {") || UNDERLINE.test(head[i + 1] ?? "");
    }
    if (/^(?:ovn-trace: )?(?:unknown datapath "|unknown port "|error parsing flow: )/.test(line)) return true;
    return /^ct_next\(ct_state=[a-z|]+\)(?: \{|;)$/.test(line);
  });
}

/** Every stage of a detailed trace, in output order (branches included). */
export function ovnTraceStages(doc: OvnTraceDocument): OvnTraceStage[] {
  if (doc.form !== "detailed") return [];
  const stages: OvnTraceStage[] = [];
  const visit = (section: OvnTraceSection): void => {
    for (const step of section.steps) {
      if (step.kind === "section") visit(step);
      if (step.kind !== "stage") continue;
      stages.push(step);
      for (const sub of step.steps) if (sub.kind === "section") visit(sub);
    }
  };
  doc.sections.forEach(visit);
  return stages;
}

// ---------------------------------------------------------------------------------------------------------
// Splitting a text into traces

interface Chunk {
  readonly start: number;
  readonly end: number;
  readonly startsWithBanner: boolean;
}

function toLines(text: string): Line[] {
  return splitLines(text).map((raw, i) => ({ n: i + 1, raw, text: raw.trimEnd() }));
}

function matchErrorLine(
  text: string,
): { reason: OvnTraceError["reason"]; message: string; name?: string } | undefined {
  for (const [pattern, reason] of ERROR_LINES) {
    const m = pattern.exec(text);
    if (m?.[1] !== undefined) return definedOnly({ reason, message: m[1], name: m[2] });
  }
  return undefined;
}

interface ChunkState {
  readonly start: number;
  startsWithBanner: boolean;
  microflow: boolean;
  banner: boolean;
  content: boolean;
}

type HeadKind = "microflow" | "banner" | "error" | "content";

function headKind(text: string): HeadKind {
  if (BANNER.test(text)) return "banner";
  if (MICROFLOW.test(text)) return "microflow";
  return matchErrorLine(text) === undefined ? "content" : "error";
}

/** Cuts the text where a new trace starts: a microflow, banner or error line after another trace. */
function splitTraces(lines: readonly Line[]): Chunk[] {
  const chunks: Chunk[] = [];
  const fresh = (start: number): ChunkState => ({
    start,
    startsWithBanner: false,
    microflow: false,
    banner: false,
    content: false,
  });
  let current = fresh(0);
  lines.forEach((line, i) => {
    if (line.text === "" || LOG_LINE.test(line.text)) return;
    const kind = headKind(line.text);
    if (kind === "content") {
      current.content = true;
      return;
    }
    const startsNew =
      current.content ||
      (kind === "microflow" && (current.microflow || current.banner)) ||
      (kind === "banner" && current.banner);
    if (startsNew) {
      chunks.push({ start: current.start, end: i, startsWithBanner: current.startsWithBanner });
      current = fresh(i);
    }
    if (!current.microflow && !current.banner) current.startsWithBanner = kind === "banner";
    current.microflow ||= kind === "microflow";
    current.banner ||= kind === "banner";
    current.content ||= kind === "error";
  });
  if (lines.slice(current.start).some((line) => line.text !== "")) {
    chunks.push({ start: current.start, end: lines.length, startsWithBanner: current.startsWithBanner });
  }
  return chunks;
}

// ---------------------------------------------------------------------------------------------------------
// One trace

interface ChunkHead {
  readonly microflow?: OvnTraceMicroflow;
  readonly banner?: SourceRef;
  readonly logLines: OvnTraceLogLine[];
  /** The lines after the head, without ovn-trace's log lines. */
  readonly body: Line[];
}

function parseChunk(
  lines: readonly Line[],
  chunk: Chunk,
  shared: OvnTraceMicroflow | undefined,
): OvnTraceDocument {
  const head = readHead(lines.slice(chunk.start, chunk.end));
  const base = {
    kind: "ovn-trace" as const,
    lineCount: lines.length,
    logLines: head.logLines,
    ...definedOnly({ microflow: head.microflow ?? shared, banner: head.banner }),
  };
  const unconsumed: SourceRef[] = [];
  const first = head.body.find((line) => line.text !== "");
  if (first === undefined) return emptyTrace(head, base);
  const error = matchErrorLine(first.text);
  if (error !== undefined) {
    unconsumed.push(...head.body.filter((line) => line !== first && line.text !== "").map(ref));
    return errorDocument(base, error, first, unconsumed);
  }
  if (hasTitledSection(head.body)) {
    const sections = new DetailedParser(head.body, unconsumed).parse();
    return { ...base, form: "detailed", sections, unconsumed, ...outcome(detailedEvents(sections)) };
  }
  const nodes = parseBlocks(head.body);
  const form = isPipelineBlock(nodes[0]) ? "summary" : "minimal";
  return { ...base, form, nodes, unconsumed, ...outcome(blockEvents(nodes)) };
}

function readHead(chunkLines: readonly Line[]): ChunkHead {
  const logLines: OvnTraceLogLine[] = [];
  const body: Line[] = [];
  let microflow: OvnTraceMicroflow | undefined;
  let banner: SourceRef | undefined;
  let started = false;
  for (const line of chunkLines) {
    const log = LOG_LINE.exec(line.text);
    if (log !== null) {
      logLines.push({ module: log[1] ?? "", level: log[2] ?? "", message: log[3] ?? "", source: ref(line) });
    } else if (!started && banner === undefined && BANNER.test(line.text)) {
      banner = ref(line);
    } else if (!started && microflow === undefined && MICROFLOW.test(line.text)) {
      microflow = parseMicroflow(line);
    } else {
      body.push(line);
      started ||= line.text !== "";
    }
  }
  return definedOnly({ microflow, banner, logLines, body });
}

function parseMicroflow(line: Line): OvnTraceMicroflow {
  const flow = line.text.slice(2);
  const tokens = flow.split(",");
  const first = tokens[0] ?? "";
  const protocol = first.includes("=") || first === "" ? undefined : first;
  const fields = Object.fromEntries(
    tokens
      .slice(protocol === undefined ? 0 : 1)
      .filter((token) => token !== "")
      .map((token) => {
        const eq = token.indexOf("=");
        return eq < 0 ? [token, ""] : [token.slice(0, eq), token.slice(eq + 1)];
      }),
  );
  return definedOnly({ flow, protocol, fields, source: ref(line) });
}

type DocumentBase = Pick<OvnTraceDocument, "kind" | "lineCount" | "logLines" | "microflow" | "banner">;

/** Nothing after the microflow: a minimal trace in which nothing externally visible happened. */
function emptyTrace(head: ChunkHead, base: DocumentBase): OvnTraceDocument {
  const start = head.microflow?.source ?? head.banner;
  if (start === undefined) throw new ParseError("no ovn-trace output: only blank and log lines", {});
  // The detailed form puts a blank line between the microflow and the first title; the minimal does not.
  if (head.body.length > 0 && !/Minimal/.test(head.banner?.text ?? "")) {
    throw new ParseError("truncated ovn-trace output: nothing after the microflow and its blank line", {
      line: start.line,
      excerpt: start.text,
    });
  }
  return { ...base, form: "minimal", nodes: [], unconsumed: [], ...outcome([]) };
}

function errorDocument(
  base: DocumentBase,
  match: { reason: OvnTraceError["reason"]; message: string; name?: string },
  line: Line,
  unconsumed: SourceRef[],
): OvnTraceDocument {
  const datapath = match.reason === "unknown-datapath" ? match.name : undefined;
  const port = match.reason === "unknown-port" ? match.name : undefined;
  const source = ref(line);
  const error: OvnTraceError = definedOnly({
    reason: match.reason,
    message: match.message,
    datapath,
    port,
    source,
  });
  const verdict: OvnTraceVerdict = definedOnly({
    kind: "error" as const,
    message: match.message,
    datapath,
    port,
    source,
  });
  return { ...base, form: "error", error, unconsumed, outputs: [], drops: [], verdict };
}

// ---------------------------------------------------------------------------------------------------------
// Detailed form

interface LineInfo {
  /** Column of the content; for a stage line, of the number as if it were printed with "%d". */
  readonly indent: number;
  readonly title: boolean;
  readonly stage?: ParsedStageLine;
}

/** What a stage line itself says (the rest of a stage comes from its section). */
type ParsedStageLine = Pick<
  OvnTraceStage,
  "table" | "stageName" | "codeLocation" | "match" | "priority" | "uuid" | "noMatch"
>;

function leadingSpaces(text: string): number {
  return text.length - text.trimStart().length;
}

function isUnderlineOf(title: Line, next: Line | undefined): boolean {
  return (
    next !== undefined &&
    UNDERLINE.test(next.text) &&
    !UNDERLINE.test(title.text) &&
    title.text.trim() !== "" &&
    leadingSpaces(next.text) === leadingSpaces(title.text)
  );
}

function hasTitledSection(body: readonly Line[]): boolean {
  return body.some((line, i) => isUnderlineOf(line, body[i + 1]));
}

function parseStageLine(text: string): ParsedStageLine | undefined {
  const m = STAGE_LINE.exec(text);
  if (m === null) return undefined;
  const table = Number(m[2]);
  const rest = m[3] ?? "";
  const noMatch = NO_MATCH.exec(rest);
  if (noMatch !== null) return definedOnly({ table, stageName: noMatch[1], noMatch: true });
  const flow = FLOW_TAIL.exec(rest);
  if (flow === null) return undefined;
  return definedOnly({
    table,
    ...splitStageHead(flow[1] ?? ""),
    priority: Number(flow[2]),
    uuid: flow[3],
    noMatch: false,
  });
}

/** `ls_in_acl (northd.c:6809): ip && !ct.est`, `ls_in_acl: ...`, `(northd.c:1): ...`, or a bare match. */
function splitStageHead(head: string): { stageName?: string; codeLocation?: string; match: string } {
  const both = /^([\w-]+) \(([^()]*)\): (.*)$/.exec(head);
  if (both !== null) return { stageName: both[1] ?? "", codeLocation: both[2] ?? "", match: both[3] ?? "" };
  const location = /^\(([^()]*)\): (.*)$/.exec(head);
  if (location !== null) return { codeLocation: location[1] ?? "", match: location[2] ?? "" };
  const name = /^([\w-]+): (.*)$/.exec(head);
  if (name !== null) return { stageName: name[1] ?? "", match: name[2] ?? "" };
  return { match: head };
}

function lineInfo(body: readonly Line[], i: number): LineInfo {
  const line = body[i];
  if (line === undefined) return { indent: 0, title: false };
  const spaces = leadingSpaces(line.text);
  if (isUnderlineOf(line, body[i + 1])) return { indent: spaces, title: true };
  const stage = parseStageLine(line.text);
  if (stage === undefined) return { indent: spaces, title: false };
  const padded = /^ *\d\. /.test(line.text) ? 1 : 0;
  return { indent: Math.max(0, spaces - padded), title: false, stage };
}

class DetailedParser {
  private pos = 0;
  private readonly info: readonly LineInfo[];

  constructor(
    private readonly body: readonly Line[],
    private readonly unconsumed: SourceRef[],
  ) {
    this.info = body.map((_, i) => lineInfo(body, i));
  }

  parse(): OvnTraceSection[] {
    const first = this.peek();
    if (first < 0) return [];
    const title = this.lineAt(first).text.trim();
    const header = this.infoAt(first).title ? parseHeader(title) : undefined;
    if (header?.kind !== "pipeline" || header.pipeline !== "ingress") {
      throw this.error(
        first,
        'not a detailed ovn-trace: it starts with an underlined `ingress(dp="...", inport="...")`',
      );
    }
    return this.parseSequence(this.infoAt(first).indent, undefined, {}, true);
  }

  /** Index of the next non-blank line, or -1. */
  private peek(): number {
    for (let i = this.pos; i < this.body.length; i++) if (this.body[i]?.text !== "") return i;
    return -1;
  }

  private lineAt(i: number): Line {
    const line = this.body[i];
    if (line === undefined) throw new ParseError("internal error: line index out of range", {});
    return line;
  }

  private infoAt(i: number): LineInfo {
    return this.info[i] ?? { indent: 0, title: false };
  }

  /**
   * A run of sections and stages at column `indent`. Stages go to the section whose title precedes them
   * (the `owner` for the stages before any title); each title at this column starts the next section of
   * the run, and the run's sections are returned. Lines at `indent + 4` right after a title are that
   * section's own body (the actions of `clone`/`arp`, or indented branches such as multicast egresses).
   */
  private parseSequence(
    indent: number,
    owner: SectionBuilder | undefined,
    context: WalkContext,
    top: boolean,
  ): SectionBuilder[] {
    const run: SectionBuilder[] = [];
    let current = owner;
    let afterTitle = owner !== undefined;
    let ctx = context;
    for (let i = this.peek(); i >= 0; i = this.peek()) {
      const info = this.infoAt(i);
      if (info.indent < indent && !top) break;
      if (info.indent === indent && info.title) {
        current = this.takeTitle(i);
        ctx = enterSection(ctx, current.header);
        run.push(current);
        afterTitle = true;
      } else if (info.indent === indent && info.stage !== undefined) {
        if (current === undefined) throw this.error(i, "stage line before any section title (truncated?)");
        current.steps.push(this.parseStage(i, info.stage, indent, ctx));
        afterTitle = false;
      } else if (
        info.indent === indent + 4 &&
        afterTitle &&
        current !== undefined &&
        info.stage === undefined
      ) {
        current.steps.push(info.title ? this.parseIndentedSection(i, ctx) : this.takeAction(i));
      } else {
        this.reject(i);
      }
    }
    return run;
  }

  /** A section printed indented (a branch followed by more output): its content is one column deeper. */
  private parseIndentedSection(i: number, context: WalkContext): SectionBuilder {
    const section = this.takeTitle(i);
    const ctx = enterSection(context, section.header);
    section.steps.push(...this.parseSequence(section.indent + 4, section, ctx, false));
    return section;
  }

  private parseStage(i: number, parsed: ParsedStageLine, indent: number, ctx: WalkContext): StageBuilder {
    const stage: StageBuilder = definedOnly({
      kind: "stage" as const,
      ...parsed,
      datapath: ctx.datapath,
      pipeline: ctx.pipeline,
      source: ref(this.lineAt(i)),
      openflow: [],
      steps: [],
    });
    this.pos = i + 1;
    for (let j = this.peek(); j >= 0; j = this.peek()) {
      const info = this.infoAt(j);
      if (info.indent < indent + 4 || (info.indent === indent + 4 && info.stage !== undefined)) {
        if (info.indent <= indent) break;
        this.reject(j);
      } else if (info.indent > indent + 4) {
        this.reject(j);
      } else if (info.title) {
        stage.steps.push(this.parseIndentedSection(j, ctx));
      } else {
        this.takeStageLine(stage, j);
      }
    }
    return stage;
  }

  private takeStageLine(stage: StageBuilder, j: number): void {
    const line = this.lineAt(j);
    const text = line.text.trim();
    this.pos = j + 1;
    const openflowError = OPENFLOW_ERROR.exec(text);
    if (OPENFLOW_LINE.test(text)) {
      stage.openflow.push(ref(line));
    } else if (openflowError !== null) {
      stage.openflowError = { message: openflowError[1] ?? "", source: ref(line) };
    } else {
      stage.steps.push(classifyAction(text, line));
    }
  }

  private takeTitle(i: number): SectionBuilder {
    const line = this.lineAt(i);
    const title = line.text.trim();
    this.pos = i + 2;
    return {
      kind: "section",
      title,
      header: parseHeader(title),
      indent: leadingSpaces(line.text),
      source: ref(line),
      underline: ref(this.lineAt(i + 1)),
      steps: [],
    };
  }

  private takeAction(i: number): OvnTraceAction {
    const line = this.lineAt(i);
    this.pos = i + 1;
    return classifyAction(line.text.trim(), line);
  }

  /** A line that does not fit where it is: kept in `unconsumed`, unless it is a title that lost its underline. */
  private reject(i: number): void {
    const line = this.lineAt(i);
    if (PIPELINE_TITLE.test(line.text.trim())) {
      throw this.error(i, "section title without its dashed underline (truncated?)");
    }
    this.unconsumed.push(ref(line));
    this.pos = i + 1;
  }

  private error(i: number, message: string): ParseError {
    const line = this.lineAt(i);
    return new ParseError(message, { line: line.n, excerpt: line.raw });
  }
}

function enterSection(ctx: WalkContext, header: OvnTraceHeader): WalkContext {
  if (header.kind === "pipeline") return { datapath: header.datapath, pipeline: header.pipeline };
  if (header.kind === "multicast") return { datapath: header.datapath, pipeline: "egress" };
  return ctx;
}

function classifyAction(text: string, line: Line): OvnTraceAction {
  const source = ref(line);
  if (text.startsWith("*** ")) return { kind: "error", message: text.slice(4).replace(/;$/, ""), source };
  const comment = /^\/\*\s*(.*?)\s*\*\/;?$/.exec(text);
  if (comment !== null) return makeComment(comment[1] ?? "", source);
  return { kind: "action", text, source };
}

function makeComment(text: string, source: SourceRef): OvnTraceComment {
  const output = OUTPUT_COMMENT.exec(text);
  if (output === null) return { kind: "comment", text, source };
  return { kind: "comment", text, output: { port: output[1] ?? "", portType: output[2] ?? "" }, source };
}

// ---------------------------------------------------------------------------------------------------------
// Section titles (shared by all forms)

function parseHeader(title: string): OvnTraceHeader {
  const pipeline = /^(ingress|egress)\((.*)\)$/.exec(title);
  const pipelineArgs = parseQuotedArgs(pipeline?.[2] ?? "");
  if (pipeline !== null && pipelineArgs.dp !== undefined) {
    return definedOnly({
      kind: "pipeline" as const,
      pipeline: pipeline[1] === "ingress" ? ("ingress" as const) : ("egress" as const),
      datapath: pipelineArgs.dp,
      inport: pipelineArgs.inport,
      outport: pipelineArgs.outport,
    });
  }
  const multicast = /^multicast\((.*)\)$/.exec(title);
  const multicastArgs = parseQuotedArgs(multicast?.[1] ?? "");
  if (multicastArgs.dp !== undefined && multicastArgs.mcgroup !== undefined) {
    return { kind: "multicast", datapath: multicastArgs.dp, mcgroup: multicastArgs.mcgroup };
  }
  if (title.startsWith("LOG: ")) return parseLogHeader(title);
  const select = /^select: (\S+) = (\d+)(.*)$/.exec(title);
  if (select !== null) {
    return {
      kind: "select",
      field: select[1] ?? "",
      value: Number(select[2]),
      randomlySelected: (select[3] ?? "").includes("Randomly selected"),
    };
  }
  if (/^ct_\w+/.test(title)) return parseConntrackHeader(title);
  return { kind: "transformation", name: /^\w+/.exec(title)?.[0] ?? title };
}

function parseQuotedArgs(args: string): Partial<Record<"dp" | "inport" | "outport" | "mcgroup", string>> {
  const found: Partial<Record<"dp" | "inport" | "outport" | "mcgroup", string>> = {};
  for (const m of args.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
    const key = m[1];
    if (key === "dp" || key === "inport" || key === "outport" || key === "mcgroup") found[key] = m[2] ?? "";
  }
  return found;
}

function parseLogHeader(title: string): OvnTraceHeader {
  const m = /^LOG: ACL name=(.*?), direction=(\S*), verdict=(\S*), severity=(\S*), packet="(.*)"$/.exec(
    title,
  );
  if (m === null) return { kind: "log" };
  return {
    kind: "log",
    name: m[1] ?? "",
    direction: m[2] ?? "",
    verdict: m[3] ?? "",
    severity: m[4] ?? "",
    packet: m[5] ?? "",
  };
}

function parseConntrackHeader(title: string): OvnTraceHeader {
  const comments = [...title.matchAll(/\/\*\s*(.*?)\s*\*\//g)].map((m) => m[1] ?? "");
  const nat = /^ct_\w+\((ip[46]\.\w+)=([^)\s]+)\)/.exec(title);
  return definedOnly({
    kind: "conntrack" as const,
    action: /^ct_\w+/.exec(title)?.[0] ?? title,
    ctState: /\(ct_state=([^\s)]+)/.exec(title)?.[1],
    nat: nat === null ? undefined : { field: nat[1] ?? "", address: nat[2] ?? "" },
    comments,
    defaultState: comments.some((c) => c.startsWith("default (use --ct")),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Summary and minimal forms

function parseBlocks(body: readonly Line[]): OvnTraceNode[] {
  const root: OvnTraceNode[] = [];
  const open: BlockBuilder[] = [];
  for (const line of body) {
    const text = line.text.trim();
    if (text === "") continue;
    const parent = open[open.length - 1];
    const siblings = parent?.children ?? root;
    if (text === "};") {
      if (parent === undefined) {
        throw new ParseError("'};' without an open block", { line: line.n, excerpt: line.raw });
      }
      parent.close = ref(line);
      open.pop();
    } else if (text.endsWith(" {")) {
      const block = makeBlock(text.slice(0, -2), line);
      siblings.push(block);
      open.push(block);
    } else {
      siblings.push(parseLeaf(text, line));
    }
  }
  const unclosed = open[open.length - 1];
  if (unclosed !== undefined) {
    throw new ParseError("truncated ovn-trace output: block not closed", {
      line: unclosed.source.line,
      excerpt: unclosed.source.text,
    });
  }
  return root;
}

function makeBlock(title: string, line: Line): BlockBuilder {
  return { kind: "block", title, header: parseHeader(title), source: ref(line), children: [] };
}

function parseLeaf(text: string, line: Line): OvnTraceNode {
  if (text.startsWith("*** ") || text.startsWith("/*")) return classifyAction(text, line);
  if (LEAF_TRANSFORMATION.test(text)) return makeBlock(text.slice(0, -1), line);
  if (text.endsWith(";")) return { kind: "action", text, source: ref(line) };
  throw new ParseError("not a line of an ovn-trace summary or minimal trace", {
    line: line.n,
    excerpt: line.raw,
  });
}

function isPipelineBlock(node: OvnTraceNode | undefined): boolean {
  return node?.kind === "block" && node.close !== undefined && node.header.kind === "pipeline";
}

// ---------------------------------------------------------------------------------------------------------
// Outputs, drops and verdict

/** The trace flattened in output order, with the pipeline each line belongs to. */
type TraceEvent =
  | { readonly kind: "enter"; readonly header: OvnTraceHeader }
  | { readonly kind: "stage"; readonly stage: OvnTraceStage }
  | { readonly kind: "line"; readonly action: OvnTraceAction; readonly context: WalkContext };

function detailedEvents(sections: readonly OvnTraceSection[]): TraceEvent[] {
  const events: TraceEvent[] = [];
  let context: WalkContext = {};
  const visit = (section: OvnTraceSection): void => {
    events.push({ kind: "enter", header: section.header });
    context = enterSection(context, section.header);
    for (const step of section.steps) visitStep(step);
  };
  const visitStep = (step: OvnTraceSection["steps"][number]): void => {
    if (step.kind === "section") {
      visit(step);
    } else if (step.kind === "stage") {
      events.push({ kind: "stage", stage: step });
      context = definedOnly({ datapath: step.datapath, pipeline: step.pipeline });
      step.steps.forEach(visitStep);
    } else {
      events.push({ kind: "line", action: step, context });
    }
  };
  sections.forEach(visit);
  return events;
}

function blockEvents(nodes: readonly OvnTraceNode[]): TraceEvent[] {
  const events: TraceEvent[] = [];
  const visit = (node: OvnTraceNode, context: WalkContext): void => {
    if (node.kind !== "block") {
      events.push({ kind: "line", action: node, context });
      return;
    }
    events.push({ kind: "enter", header: node.header });
    const inner = enterSection(context, node.header);
    for (const child of node.children) visit(child, inner);
  };
  for (const node of nodes) visit(node, {});
  return events;
}

function outcome(events: readonly TraceEvent[]): {
  outputs: OvnTraceOutput[];
  drops: OvnTraceDrop[];
  verdict: OvnTraceVerdict;
} {
  const outputs: OvnTraceOutput[] = [];
  const drops: OvnTraceDrop[] = [];
  let stage: OvnTraceStage | undefined;
  let context: WalkContext = {};
  events.forEach((event, k) => {
    if (event.kind === "enter") {
      // A new pipeline has walked no stage yet: what happens before its first stage is not the previous one's.
      if (event.header.kind === "pipeline" || event.header.kind === "multicast") stage = undefined;
      return;
    }
    if (event.kind === "stage") {
      stage = event.stage;
      context = definedOnly({ datapath: stage.datapath, pipeline: stage.pipeline });
      if (stage.noMatch) {
        drops.push(dropAt("no-match", "no match (implicit drop)", stage, context, stage.source));
      }
      return;
    }
    context = event.context;
    const output = finalOutput(event.action, events[k + 1], context);
    if (output !== undefined) outputs.push(output);
    const drop = dropOf(event.action);
    if (drop !== undefined) {
      drops.push(dropAt(drop.reason, drop.message, stage, context, event.action.source));
    }
  });
  const lastOutput = outputs[outputs.length - 1];
  const lastDrop = drops[drops.length - 1];
  const verdict: OvnTraceVerdict =
    lastOutput !== undefined
      ? { kind: "output", ...lastOutput }
      : lastDrop !== undefined
        ? { kind: "dropped", ...lastDrop }
        : {
            kind: "dropped",
            ...dropAt("no-output", "the trace ends without output", stage, context, stage?.source),
          };
  return { outputs, drops, verdict };
}

/** An output that leaves the logical network: not a patch port hop, which the peer's ingress follows. */
function finalOutput(
  action: OvnTraceAction,
  next: TraceEvent | undefined,
  context: WalkContext,
): OvnTraceOutput | undefined {
  if (action.kind === "comment" && action.output !== undefined) {
    const hop =
      next?.kind === "enter" && next.header.kind === "pipeline" && next.header.pipeline === "ingress";
    if (hop) return undefined;
    return definedOnly({ ...action.output, datapath: context.datapath, source: action.source });
  }
  const minimal = action.kind === "action" ? MINIMAL_OUTPUT.exec(action.text) : null;
  if (minimal === null) return undefined;
  return definedOnly({ port: minimal[1] ?? "", datapath: context.datapath, source: action.source });
}

function dropOf(action: OvnTraceAction): { reason: OvnTraceDrop["reason"]; message: string } | undefined {
  if (action.kind === "error") return { reason: "error", message: action.message };
  if (action.kind === "action" && action.text === "drop;") return { reason: "drop", message: "drop;" };
  if (action.kind === "comment" && action.text.startsWith("omitting output")) {
    return { reason: "no-output", message: action.text };
  }
  return undefined;
}

function dropAt(
  reason: OvnTraceDrop["reason"],
  message: string,
  stage: OvnTraceStage | undefined,
  context: WalkContext,
  source: SourceRef | undefined,
): OvnTraceDrop {
  return definedOnly({
    reason,
    message,
    stage: stage?.stageName,
    table: stage?.table,
    uuid: stage?.uuid,
    priority: stage?.priority,
    datapath: context.datapath,
    pipeline: context.pipeline,
    acl: stage?.stageName?.includes("acl") ?? false,
    source,
  });
}

// ---------------------------------------------------------------------------------------------------------

function ref(line: Line): SourceRef {
  return { line: line.n, text: line.raw };
}

/** The object without its `undefined` properties (optional fields are left out, not set to undefined). */
function definedOnly<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as T;
}
