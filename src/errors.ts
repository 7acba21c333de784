/** Base of every error the tool raises on purpose; only `cli/` turns these into exit codes. */
export class OvnkTraceError extends Error {
  /** What the user can do about it, printed under the message. */
  readonly hint: string | undefined;
  constructor(message: string, options?: { cause?: unknown; hint?: string }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = new.target.name;
    this.hint = options?.hint;
  }
}

/** A program the tool needs is not installed. */
export class MissingBinaryError extends OvnkTraceError {}

/** A command or daemon did not behave (failed to start, timed out, exited non-zero where that is fatal). */
export class ProcessError extends OvnkTraceError {}

/** Invalid input from the user: a flag, a scenario file, a name that does not exist. */
export class InputError extends OvnkTraceError {}

/** The lab is not in the state the command needs (not up, already up, half up). */
export class LabStateError extends OvnkTraceError {}

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

/** A Kubernetes object that does not exist. */
export class NotFoundError extends InputError {}

/** RBAC said no. */
export class ForbiddenError extends InputError {}

/** The cluster (API server, node, exec channel) could not be reached or did not answer in time. */
export class ClusterUnreachableError extends ProcessError {}
