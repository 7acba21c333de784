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
