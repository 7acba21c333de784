import { OvnkTraceError } from "../errors.js";

/**
 * Input that is not what the parser reads (foreign text, a truncated or interleaved output).
 * Parsers throw nothing else: a bug in a parser is caught and re-thrown as a ParseError too.
 */
export class ParseError extends OvnkTraceError {
  /** 1-based line (0 when the position is a byte offset, see `offset`). */
  readonly line: number;
  /** Byte offset, for binary-ish inputs such as OVSDB files. */
  readonly offset: number | undefined;
  /** The offending text (cut to 200 characters). */
  readonly excerpt: string;

  constructor(
    message: string,
    where: { line?: number; offset?: number; excerpt?: string },
    options?: { cause?: unknown; hint?: string },
  ) {
    const excerpt = (where.excerpt ?? "").slice(0, 200);
    const pos =
      where.line !== undefined && where.line > 0
        ? `line ${where.line}`
        : where.offset !== undefined
          ? `byte ${where.offset}`
          : "";
    super(
      `${pos === "" ? "" : `${pos}: `}${message}${excerpt === "" ? "" : `: ${JSON.stringify(excerpt)}`}`,
      options,
    );
    this.line = where.line ?? 0;
    this.offset = where.offset;
    this.excerpt = excerpt;
  }
}

/** Runs a parser body; anything but a ParseError escaping it is a parser bug, reported as a ParseError. */
export function guardParse<T>(what: string, body: () => T): T {
  try {
    return body();
  } catch (e) {
    if (e instanceof ParseError) throw e;
    throw new ParseError(`internal error while parsing ${what}`, {}, { cause: e });
  }
}

/** Splits text into lines (without their terminators); a trailing newline does not make an extra line. */
export function splitLines(text: string): string[] {
  const lines = text.split(/\r?\n/);
  if (lines.length > 0 && lines[lines.length - 1] === "") lines.pop();
  return lines;
}
