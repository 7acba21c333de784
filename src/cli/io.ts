import type { CommandIO, CommandResult } from "../app/command.js";
import { EXIT } from "./exit-codes.js";

/** The process's IO as commands see it: progress lines only on a terminal, so pipes and CI stay clean. */
export function processIO(): CommandIO {
  return {
    progress: (line) => {
      if (process.stderr.isTTY) process.stderr.write(`${line}\n`);
    },
    note: (line) => {
      process.stderr.write(`${line}\n`);
    },
    color: process.stdout.isTTY,
  };
}

/** Prints a command's result; its exit status (a failure is named on stderr). */
export function printResult(r: CommandResult): number {
  if (r.output !== "") process.stdout.write(r.output.endsWith("\n") ? r.output : `${r.output}\n`);
  if (r.failure === undefined) return EXIT.ok;
  process.stderr.write(`failure: ${r.failure}\n`);
  return EXIT.traceFailure;
}

/** Prints a command's result and records its exit status (main's). */
export type Run = (result: Promise<CommandResult> | CommandResult) => Promise<void>;
