#!/usr/bin/env node
import { Command, CommanderError } from "commander";
import { OvnkTraceError, InputError } from "../errors.js";
import { normalizeGoFlags } from "./argv.js";
import { VERSION } from "../version.js";
import { registerDemoCommand, registerLabCommands } from "./lab-commands.js";
import { registerParseCommand } from "./parse-command.js";

/** The only place that prints errors and chooses exit codes. */
async function main(argv: readonly string[]): Promise<number> {
  const program = new Command()
    .name("ovnkube-trace")
    .description(
      "Trace a packet through an OVN-Kubernetes cluster, node by node, and explain the verdict in Kubernetes terms.",
    )
    .version(VERSION)
    .exitOverride()
    .showHelpAfterError("(run with --help for usage)");
  registerLabCommands(program);
  registerDemoCommand(program);
  registerParseCommand(program);
  try {
    await program.parseAsync(normalizeGoFlags(argv), { from: "user" });
    return typeof process.exitCode === "number" ? process.exitCode : 0;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? 0 : 2;
    if (e instanceof OvnkTraceError) {
      process.stderr.write(`error: ${e.message}\n`);
      if (e.cause !== undefined && process.env.OVNKUBE_TRACE_DEBUG === undefined) {
        const cause =
          e.cause instanceof Error
            ? e.cause.message
            : typeof e.cause === "string"
              ? e.cause
              : JSON.stringify(e.cause);
        process.stderr.write(`  cause: ${cause}\n`);
      }
      if (e.hint !== undefined) process.stderr.write(`  hint: ${e.hint}\n`);
      if (process.env.OVNKUBE_TRACE_DEBUG !== undefined) process.stderr.write(`${e.stack ?? ""}\n`);
      return e instanceof InputError ? 2 : 1;
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`internal error: ${msg}\n  (set OVNKUBE_TRACE_DEBUG=1 for details)\n`);
    if (process.env.OVNKUBE_TRACE_DEBUG !== undefined && e instanceof Error)
      process.stderr.write(`${e.stack ?? ""}\n`);
    return 70;
  }
}

process.exitCode = await main(process.argv.slice(2));
