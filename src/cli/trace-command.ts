import type { Command } from "commander";
import type { CommandResult } from "../app/command.js";
import { addClusterOptions, clusterChoice, type ClusterFlags } from "./cluster-options.js";
import { duration, pageFormat } from "./formats.js";
import { processIO } from "./io.js";
import { addPacketOptions, number, packetTarget, type PacketFlags } from "./packet-flags.js";

/** The Go ovnkube-trace's flags (single-dash works too), plus ours. */
export interface TraceFlags extends PacketFlags, ClusterFlags {
  loglevel: string;
  skipDetrace?: boolean;
  dumpUdnVrfTableIds?: boolean;
  allBackends?: boolean;
  srcPort?: string;
  goOutputOnly?: boolean;
  output: string;
  html?: string;
  includeRaw?: boolean;
  timeout: string;
  /** false with --no-color. */
  color: boolean;
}

export function registerTraceOptions(program: Command): void {
  addClusterOptions(addPacketOptions(program, "the kubeconfig context's namespace, else default"))
    .option(
      "--loglevel <N>",
      "0: verdict lines; 2: + tool outputs; 4: + command lines; 5: + resolution details",
      "0",
    )
    .option("--skip-detrace", "skip the ovn-detrace step")
    .option(
      "--dump-udn-vrf-table-ids",
      "print the VRF table id of every user-defined network on every node, as JSON, and exit",
    )
    .option("--all-backends", "trace to every backend of a service, not just the first")
    .option(
      "--go-output-only",
      "text output: only the Go ovnkube-trace's lines (no verdict lines, summaries or explanations after them)",
    )
    .option("--src-port <PORT>", "source port of the traced packet (a real connection's), default 52888")
    .option(
      "-o, --output <FORMAT>",
      "text | json | yaml | html (json, yaml: one document, schema/trace-run.schema.json; html: a self-contained page, the paths drawn)",
      "text",
    )
    .option(
      "--html <FILE>",
      "also write the trace as a self-contained HTML page to FILE (verdicts, both paths drawn, each node's flows and the raw tool outputs), beside the -o output",
    )
    .option(
      "--include-raw",
      "keep every hop's raw tool output (ovn-trace, ofproto/trace, ovn-detrace) in -o json|yaml (always at -loglevel 2 and above)",
    )
    .option(
      "--timeout <DURATION>",
      "timeout of every exec and API call: 30s, 1m, 500ms (a plain number is milliseconds)",
      "30s",
    )
    .option("--no-color", "no colours in the text output (also: the NO_COLOR environment variable)");
}

/** Checks the flags, then runs the trace (or the UDN dump) command. */
export async function traceAction(f: TraceFlags): Promise<CommandResult> {
  const output = pageFormat(f.output);
  const loglevel = number(f.loglevel, "-loglevel", 0, 10);
  const timeoutMs = duration(f.timeout, "--timeout", 100, 3_600_000);
  const trace = await import("../app/trace.js");
  if (f.dumpUdnVrfTableIds === true) return trace.udnVrfTableIdsCommand(clusterChoice(f), timeoutMs);
  return trace.traceCommand(
    {
      cluster: clusterChoice(f),
      target: packetTarget(f),
      loglevel,
      output,
      ...(f.html === undefined ? {} : { htmlFile: f.html }),
      includeRaw: f.includeRaw === true,
      skipDetrace: f.skipDetrace === true,
      allBackends: f.allBackends === true,
      goOnly: f.goOutputOnly === true,
      ...(f.srcPort === undefined ? {} : { srcPort: number(f.srcPort, "--src-port", 1, 65535) }),
      timeoutMs,
    },
    processIO({ color: f.color }),
  );
}
