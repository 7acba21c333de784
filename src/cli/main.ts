#!/usr/bin/env node
import { basename } from "node:path";
import { Command, CommanderError } from "commander";
import { OvnkTraceError } from "../errors.js";
import { normalizeGoFlags } from "./argv.js";
import { VERSION } from "../version.js";
import { registerDemoCommand, registerLabCommands } from "./lab-commands.js";
import { registerParseCommand } from "./parse-command.js";
import { registerExplainCommand } from "./explain-command.js";
import { registerMatrixCommand } from "./matrix-command.js";
import { registerWhatIfCommand } from "./what-if-command.js";
import { registerSnapshotCommands } from "./snapshot-commands.js";
import { registerTraceOptions, traceAction, type TraceFlags } from "./trace-command.js";
import { registerCompletionCommand } from "./completion.js";
import { EXIT, exitCodeOf } from "./exit-codes.js";
import { printResult, type Run } from "./io.js";
import { interruptAll } from "../app/interrupt.js";

/** The exit status of the command that ran (set by `run`, read once parsing is done). */
let status: number = EXIT.ok;

const run: Run = async (result) => {
  status = await printResult(await result);
};

/** Run as a kubectl plugin (`kubectl ovnkube-trace`: kubectl runs `kubectl-ovnkube_trace`), the name it was called by. */
const NAME = basename(process.argv[1] ?? "").startsWith("kubectl-")
  ? "kubectl ovnkube-trace"
  : "ovnkube-trace";

function buildProgram(): Command {
  const program = new Command()
    .name(NAME)
    .description(
      "Trace a packet through an OVN-Kubernetes cluster, node by node, and explain the verdict in Kubernetes terms.",
    )
    .version(VERSION)
    .exitOverride()
    .enablePositionalOptions()
    .showHelpAfterError("(run with --help for usage)");
  registerTraceOptions(program);
  program.addHelpText(
    "after",
    "\nFlags also take the Go ovnkube-trace's single-dash form (-src, -dst-port=80).\n" +
      "Names without a namespace are in -n, else in the kubeconfig context's namespace, else in default.\n" +
      "-o json|yaml prints one document (schemaVersion, kind TraceRun, reports); --include-raw keeps the tools' outputs.\n" +
      "-o html prints one self-contained page (verdicts, both paths drawn, each node's flows, the raw outputs);\n" +
      "--html FILE writes that page to FILE beside the usual output. It opens offline, in any browser.\n" +
      "Colours on a terminal only; --no-color or NO_COLOR=1 turns them off.\n" +
      "Exit status: 0 success, 1 a trace step indicates failure, 2 bad input, 3 not found, 4 forbidden,\n" +
      "5 no kubeconfig, cluster unreachable or timed out, 6 a command failed, 7 unreadable tool output, 70 internal error.\n" +
      `Examples:\n  ${NAME} -src client -dst web -tcp -dst-port 8080\n  ${NAME} -n kube-system -src default/client -service kube-dns -udp -dst-port 53 -o yaml\n  ${NAME} --lab -src client -dst web -tcp -dst-port 80 -o json | jq '.reports[].forward.verdict'\n  ${NAME} --lab -src client -dst web -tcp -dst-port 80 --html trace.html\n  ${NAME} lab up && ${NAME} demo\n  source <(ovnkube-trace completion bash)`,
  );
  program.action(async (flags: TraceFlags) => {
    await run(traceAction(flags));
  });
  registerLabCommands(program, run);
  registerDemoCommand(program, run);
  registerParseCommand(program, run);
  registerExplainCommand(program, run);
  registerMatrixCommand(program, run);
  registerWhatIfCommand(program, run);
  registerSnapshotCommands(program, run);
  registerCompletionCommand(program, run);
  return program;
}

/** A message on one line: a name with a newline or other control characters in it cannot split it. */
function oneLine(s: string): string {
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const code = s.charCodeAt(i);
    if (code === 0x0a) out += "\\n";
    else if (code < 0x20 || code === 0x7f) out += `\\x${code.toString(16).padStart(2, "0")}`;
    else out += s.charAt(i);
  }
  return out;
}

/** The only place that prints errors and chooses exit codes. */
async function main(argv: readonly string[]): Promise<number> {
  try {
    await buildProgram().parseAsync(normalizeGoFlags(argv), { from: "user" });
    return status;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.ok : EXIT.usage;
    if (e instanceof OvnkTraceError) {
      process.stderr.write(`error: ${oneLine(e.message)}\n`);
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
      return exitCodeOf(e);
    }
    const msg = e instanceof Error ? e.message : String(e);
    process.stderr.write(`internal error: ${msg}\n  (set OVNKUBE_TRACE_DEBUG=1 for details)\n`);
    if (process.env.OVNKUBE_TRACE_DEBUG !== undefined && e instanceof Error)
      process.stderr.write(`${e.stack ?? ""}\n`);
    return EXIT.internal;
  }
}

// A reader that stops early (`| head`) closes the pipe: that ends the output, it is not an error.
process.stdout.on("error", (e: NodeJS.ErrnoException) => {
  if (e.code === "EPIPE") process.exit(status);
  throw e;
});
// Interrupted: stop what the running command started (daemons of a lab being brought up, a replica), then exit
// 128 + the signal. Further signals while that runs are ignored: a half-done cleanup is what this prevents.
let interrupted = false;
const isInterrupted = (): boolean => interrupted;
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143],
] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    void interruptAll().finally(() => {
      process.stderr.write(`interrupted (${signal}): stopped what this run had started\n`);
      process.exit(code);
    });
  });
}
const code = await main(process.argv.slice(2));
// The output is written (printResult waits for it): exit now, even if a connection that a timed-out request left
// open would keep the process alive; unless an interrupt is being handled, whose handler exits when its cleanup
// is done.
process.exitCode = code;
if (!isInterrupted()) process.exit(code);
