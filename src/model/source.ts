/** Where a parsed record came from: its 1-based line in the input and the line's raw text. */
export interface SourceRef {
  readonly line: number;
  readonly text: string;
}

/**
 * What every parser returns: a `kind`-tagged document plus the input lines it did not account
 * for (empty for a lossless parse), so callers and tests can tell a full parse from a partial one.
 */
export interface ParsedDocument<K extends string> {
  readonly kind: K;
  /** Lines of the input that no record of the document accounts for. */
  readonly unconsumed: readonly SourceRef[];
  /** Total number of input lines (a trailing newline does not add one). */
  readonly lineCount: number;
}
