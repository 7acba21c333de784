import { writeFileSync } from "node:fs";
import type { CommandIO, CommandResult } from "../app/command.js";
import { InputError } from "../errors.js";
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

/** Writes a command's files, prints its result; its exit status (a failure is named on stderr). */
export async function printResult(r: CommandResult): Promise<number> {
  for (const f of r.files ?? [])
    try {
      writeFileSync(f.path, f.content);
    } catch (e) {
      throw new InputError(`cannot write ${f.path}: ${e instanceof Error ? e.message : String(e)}`, {
        hint: "give a FILE in a directory you can write to",
      });
    }
  if (r.output !== "") await written(process.stdout, r.output.endsWith("\n") ? r.output : `${r.output}\n`);
  if (r.unknown !== undefined) {
    await written(process.stderr, `unknown: ${r.unknown}\n`);
    return EXIT.unknown;
  }
  if (r.failure === undefined) return EXIT.ok;
  await written(process.stderr, `failure: ${r.failure}\n`);
  return EXIT.traceFailure;
}

/** Resolves once `text` is handed to the OS (a pipe's reader may be slower than us: the process then waits). */
function written(stream: NodeJS.WriteStream, text: string): Promise<void> {
  return new Promise((resolve) => {
    stream.write(text, () => {
      resolve();
    });
  });
}

/** Prints a command's result and records its exit status (main's). */
export type Run = (result: Promise<CommandResult> | CommandResult) => Promise<void>;
