/**
 * What a command (one module of src/app per command) hands back to the CLI, and what the CLI lends it.
 * Commands print nothing and exit nothing: the CLI prints `output`, and exits 8 with `unknown`, or 1 with
 * `failure`, on stderr.
 */
export interface CommandResult {
  /** Everything for standard output. */
  readonly output: string;
  /** Set when a step the command checked indicates failure (a drop, a broken lab, a disagreement). */
  readonly failure?: string;
  /**
   * Set when a verdict could not be established (an input missing, a step no trace can follow): why, and what
   * to collect. It outranks `failure`: a check that failed on incomplete data says nothing about the packet.
   */
  readonly unknown?: string;
  /** Files the command was asked to write beside its output (`--html FILE`): the CLI writes them first. */
  readonly files?: readonly OutputFile[];
}

/** A file for the CLI to write. */
export interface OutputFile {
  readonly path: string;
  readonly content: string;
}

export interface CommandIO {
  /** Progress of a long step, for a terminal (the CLI drops it on a pipe). */
  readonly progress: (line: string) => void;
  /** A line for the user beside the output (standard error), always shown. */
  readonly note: (line: string) => void;
  /** Whether the output goes to a terminal (colours). */
  readonly color: boolean;
}

/** `-o`: text for people, or the same JSON/YAML document (each with `schemaVersion` and `kind`). */
export type OutputFormat = "text" | "json" | "yaml";

/** `-o` of the commands that also draw their result as a self-contained HTML page (the trace, explain). */
export type PageFormat = OutputFormat | "html";

export const ok = (output: string): CommandResult => ({ output });
