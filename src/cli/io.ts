import type { CommandIO, CommandResult } from "../app/command.js";
import { EXIT } from "./exit-codes.js";

/**
 * Whether to colour the text output: on a terminal, unless `--no-color` (`flag` false) or the NO_COLOR
 * environment variable (https://no-color.org: set and not empty) says no.
 */
export function useColor(flag: boolean | undefined, env: NodeJS.ProcessEnv = process.env): boolean {
  if (flag === false) return false;
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== "") return false;
  return process.stdout.isTTY;
}

/** The process's IO as commands see it: progress lines only on a terminal, so pipes and CI stay clean. */
export function processIO(o: { readonly color?: boolean } = {}): CommandIO {
  return {
    progress: (line) => {
      if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
    },
    note: (line) => {
      process.stderr.write(`${line}\n`);
    },
    color: useColor(o.color),
  };
}

/** Prints a command's result; its exit status (a failure is named on stderr). */
export function printResult(r: CommandResult): number {
  if (r.output !== "") process.stdout.write(r.output.endsWith("\n") ? r.output : `${r.output}\n`);
  if (r.unknown !== undefined) {
    process.stderr.write(`unknown: ${r.unknown}\n`);
    return EXIT.unknown;
  }
  if (r.failure === undefined) return EXIT.ok;
  process.stderr.write(`failure: ${r.failure}\n`);
  return EXIT.traceFailure;
}

/** Prints a command's result and records its exit status (main's). */
export type Run = (result: Promise<CommandResult> | CommandResult) => Promise<void>;
