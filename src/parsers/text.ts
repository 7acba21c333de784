import type { SourceRef } from "../model/source.js";
import { guardParse, ParseError } from "../errors.js";

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const ELISIONS = new Set(["...", "[...]", "\u2026", "[\u2026]"]);

/** +1 for ( [ {, -1 for ) ] }, 0 otherwise. */
export function nesting(c: number): number {
  if (c === 0x28 || c === 0x5b || c === 0x7b) return 1;
  if (c === 0x29 || c === 0x5d || c === 0x7d) return -1;
  return 0;
}

/** Indexes of `separator` outside parentheses, brackets, braces and double quotes. */
export function topLevelBreaks(text: string, separator: number): { breaks: number[]; balanced: boolean } {
  const breaks: number[] = [];
  let depth = 0;
  let inQuote = false;
  let balanced = true;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (inQuote) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inQuote = false;
    } else if (c === QUOTE) inQuote = true;
    else if (c === separator && depth === 0) breaks.push(i);
    else {
      const step = nesting(c);
      if (step < 0 && depth === 0) balanced = false;
      else depth += step;
    }
  }
  return { breaks, balanced: balanced && depth === 0 && !inQuote };
}

/**
 * `text` split at commas outside parentheses, brackets, braces and double quotes:
 * `ct(commit,nat(dst=1.2.3.4)),output:2` → 2 parts. "" → [].
 */
export function splitTopLevelCommas(text: string): { parts: string[]; balanced: boolean } {
  if (text === "") return { parts: [], balanced: true };
  const { breaks, balanced } = topLevelBreaks(text, COMMA);
  const parts: string[] = [];
  let start = 0;
  for (const end of [...breaks, text.length]) {
    parts.push(text.slice(start, end));
    start = end + 1;
  }
  return { parts, balanced };
}

/** The first `max` lines, without splitting the whole text (the sniffers look at the start only). */
export function headLines(text: string, max: number): string[] {
  const lines: string[] = [];
  let start = 0;
  while (lines.length < max && start < text.length) {
    const nl = text.indexOf("\n", start);
    const end = nl === -1 ? text.length : nl;
    lines.push(text.slice(start, end > start && text.charCodeAt(end - 1) === 0x0d ? end - 1 : end));
    start = end + 1;
  }
  return lines;
}

/** `...`, `[...]` and their one-character forms: where a published sample left lines out. */
export function isElisionLine(trimmed: string): boolean {
  return ELISIONS.has(trimmed);
}

/** Where a ParseError about `source` points. */
export function locate(source: SourceRef): { line: number; excerpt: string } {
  return { line: source.line, excerpt: source.text };
}

/** What a line-by-line parser adds to what it read: the lines it did not account for, and how many there were. */
export interface LinesRead {
  readonly unconsumed: SourceRef[];
  readonly lineCount: number;
}

export interface LineReader<D> {
  /** What the text should be, as in "not <what>" and "internal error while parsing <what>". */
  readonly what: string;
  /** What foreign text lacks, added to the "not <what>" message. */
  readonly missing?: string;
  /** Takes one non-blank line; false when it does not account for it (it goes to `unconsumed`). */
  read(trimmed: string, source: SourceRef): boolean;
  /** Whether the lines read show the text is `what` at all (else it is rejected at its first line). */
  recognized(): boolean;
  finish(lines: LinesRead): D;
}

/**
 * The loop the line-oriented parsers (dump-flows, dump-groups, dump-tlv-map, lflow-list) share: blank lines
 * skipped, every other line read or listed as unconsumed, and foreign text rejected at its first line.
 */
export function readLines<D>(text: string, reader: LineReader<D>): D {
  return guardParse(reader.what, () => {
    const lines = splitLines(text);
    const unconsumed: SourceRef[] = [];
    let firstContent: SourceRef | undefined;
    for (const [i, raw] of lines.entries()) {
      const trimmed = raw.trim();
      if (trimmed === "") continue;
      const source = { line: i + 1, text: raw };
      firstContent ??= source;
      if (!reader.read(trimmed, source)) unconsumed.push(source);
    }
    if (firstContent !== undefined && !reader.recognized()) {
      const missing = reader.missing === undefined ? "" : ` (${reader.missing})`;
      throw new ParseError(`not ${reader.what}${missing}`, locate(firstContent));
    }
    return reader.finish({ unconsumed, lineCount: lines.length });
  });
}

/** Splits text into lines (without their terminators); a trailing newline does not make an extra line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
