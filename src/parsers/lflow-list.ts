import type {
  LflowDatapath,
  LflowListDocument,
  LflowOpenFlow,
  LflowPipeline,
  LogicalFlow,
} from "../model/lflow-list.js";
import type { Elision } from "../model/openflow.js";
import type { SourceRef } from "../model/source.js";
import { DEFAULT_FLOW_PRIORITY, parseFlowBody, type FlowBody } from "./dump-flows.js";
import { headLines, isElisionLine, locate, readLines } from "./text.js";
import { ParseError } from "../errors.js";

const DATAPATH_RE =
  /^Datapath:\s*(?:"([^"]*)"(?:\s+aka\s+"([^"]*)")?\s*)?\(?([0-9a-fA-F][0-9a-fA-F-]*)\)?\s+Pipeline:\s*(ingress|egress)$/;
/** `uuid=0x1a2b3c4d, table=0 (` or `table=10(`: the start of a logical flow line. */
const LFLOW_START_RE = /^(?:uuid=0x[0-9a-fA-F]+, )?table=\d+ *\(/;
const LFLOW_HEAD_RE = /^(?:uuid=(0x[0-9a-fA-F]+), )?table=(\d+) *\(([^)]*)\), priority=(\d+) *, match=\(/;
const OPEN = 0x28;
const CLOSE = 0x29;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;

/** Index of the `)` closing the `(` just before `from`, skipping quoted strings; -1 if it is not closed. */
function closingParen(text: string, from: number): number {
  let depth = 1;
  let inQuote = false;
  for (let i = from; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === OPEN) depth++;
    else if (c === CLOSE && --depth === 0) return i;
  }
  return -1;
}

/** Match and action texts: balanced parentheses first, else the `), action=(` separator and the final `)`. */
function matchAndAction(text: string, matchStart: number): { match: string; action: string } | undefined {
  const SEPARATOR = ", action=(";
  const matchEnd = closingParen(text, matchStart);
  if (matchEnd !== -1 && text.startsWith(SEPARATOR, matchEnd + 1)) {
    const actionStart = matchEnd + 1 + SEPARATOR.length;
    const actionEnd = closingParen(text, actionStart);
    if (actionEnd === text.length - 1) {
      return { match: text.slice(matchStart, matchEnd), action: text.slice(actionStart, actionEnd) };
    }
  }
  const separator = text.lastIndexOf(`)${SEPARATOR}`);
  if (separator < matchStart || !text.endsWith(")")) return undefined;
  return {
    match: text.slice(matchStart, separator),
    action: text.slice(separator + 1 + SEPARATOR.length, -1),
  };
}

/** Mutable views of the records under construction. */
type PipelineDraft = LflowPipeline & { flows: LogicalFlow[] };
type FlowDraft = LogicalFlow & { openflow: LflowOpenFlow[] };

function parseLogicalFlow(trimmed: string, source: SourceRef): FlowDraft {
  const head = LFLOW_HEAD_RE.exec(trimmed);
  const texts = head === null ? undefined : matchAndAction(trimmed, head[0].length);
  if (head === null || texts === undefined) throw new ParseError("malformed logical flow", locate(source));
  const [, uuid, table = "", stage = "", priority = ""] = head;
  return {
    kind: "lflow",
    source,
    ...(uuid === undefined ? {} : { uuid }),
    table: Number(table),
    stage: stage.trim(),
    priority: Number(priority),
    match: texts.match,
    action: texts.action,
    openflow: [],
  };
}

function parsePipelineHeader(trimmed: string, source: SourceRef): PipelineDraft {
  const m = DATAPATH_RE.exec(trimmed);
  if (m === null) throw new ParseError("malformed Datapath header", locate(source));
  const [, name, alias, uuid = "", pipeline] = m;
  const datapath: LflowDatapath = {
    ...(name === undefined ? {} : { name }),
    ...(alias === undefined ? {} : { alias }),
    uuid,
  };
  return {
    kind: "pipeline",
    source,
    datapath,
    pipeline: pipeline === "egress" ? "egress" : "ingress",
    flows: [],
  };
}

function toLflowOpenFlow(body: FlowBody, source: SourceRef): LflowOpenFlow {
  // With --stats the line comes from ofputil_flow_stats_format, which omits only the default priority.
  const withStats = body.cookie !== undefined || body.stats.durationSeconds !== undefined;
  const { cookie, table = 0, priority = withStats ? DEFAULT_FLOW_PRIORITY : undefined, ...printed } = body;
  return {
    kind: "flow",
    source,
    ...(cookie === undefined ? {} : { cookie }),
    table,
    ...(priority === undefined ? {} : { priority }),
    ...printed,
  };
}

/**
 * Parses `ovn-sbctl [--ovs[=BRIDGE]] [--stats] [--uuid] lflow-list [DATAPATH]` output (OVN 2.x, 20.x–24.x).
 * OpenFlow lines printed by --ovs are attached to the logical flow above them.
 */
export function parseLflowList(text: string): LflowListDocument {
  const pipelines: PipelineDraft[] = [];
  const elisions: Elision[] = [];
  let pipeline: PipelineDraft | undefined;
  let lflow: FlowDraft | undefined;
  return readLines(text, {
    what: "ovn-sbctl lflow-list output",
    missing: "no Datapath: header",
    read(trimmed, source) {
      if (trimmed.startsWith("Datapath:")) {
        pipeline = parsePipelineHeader(trimmed, source);
        pipelines.push(pipeline);
        lflow = undefined;
        return true;
      }
      if (isElisionLine(trimmed)) {
        elisions.push({ kind: "elision", source });
        lflow = undefined;
        return true;
      }
      if (LFLOW_START_RE.test(trimmed)) {
        const parsed = parseLogicalFlow(trimmed, source);
        lflow = pipeline === undefined ? undefined : parsed;
        pipeline?.flows.push(parsed);
        return pipeline !== undefined;
      }
      const body = lflow === undefined || !trimmed.includes("actions=") ? undefined : parseFlowBody(trimmed);
      if (typeof body === "string") throw new ParseError(`malformed OpenFlow flow (${body})`, locate(source));
      if (body === undefined || lflow === undefined) {
        // Foreign lines (e.g. the --vflows sections) end the logical flow: what follows is not its OpenFlow.
        lflow = undefined;
        return false;
      }
      lflow.openflow.push(toLflowOpenFlow(body, source));
      return true;
    },
    recognized: () => pipelines.length > 0,
    finish: (lines) => ({ kind: "lflow-list", pipelines, elisions, ...lines }),
  });
}

/** Cheap sniffer: a `Datapath: ... Pipeline:` header or a logical flow line among the first 50 lines. */
export function looksLikeLflowList(text: string): boolean {
  return headLines(text, 50).some((raw) => {
    const t = raw.trim();
    return (t.startsWith("Datapath:") && t.includes("Pipeline:")) || LFLOW_HEAD_RE.test(t);
  });
}
