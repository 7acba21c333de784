import type { Command } from "commander";
import type { CommandResult } from "../app/command.js";
import { InputError } from "../errors.js";
import { addClusterOptions, clusterChoice, type ClusterFlags } from "./cluster-options.js";
import { processIO } from "./io.js";
import { addPacketOptions, number, packetTarget, type PacketFlags } from "./packet-flags.js";

/** The Go ovnkube-trace's flags (single-dash works too), plus ours. */
export interface TraceFlags extends PacketFlags, ClusterFlags {
  loglevel: string;
  skipDetrace?: boolean;
  dumpUdnVrfTableIds?: boolean;
  allBackends?: boolean;
  output: string;
  timeout: string;
}

export function registerTraceOptions(program: Command): void {
  addClusterOptions(addPacketOptions(program))
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
    .option("-o, --output <FORMAT>", "text | json (the trace reports)", "text")
    .option("--timeout <MS>", "timeout of every exec and API call, in milliseconds", "30000");
}

/** Checks the flags, then runs the trace (or the UDN dump) command. */
export async function traceAction(f: TraceFlags): Promise<CommandResult> {
  if (f.output !== "text" && f.output !== "json")
    throw new InputError(`-o must be text or json, not "${f.output}"`);
  const loglevel = number(f.loglevel, "-loglevel", 0, 10);
  const timeoutMs = number(f.timeout, "--timeout", 100, 3_600_000);
  const trace = await import("../app/trace.js");
  if (f.dumpUdnVrfTableIds === true) return trace.udnVrfTableIdsCommand(clusterChoice(f), timeoutMs);
  return trace.traceCommand(
    {
      cluster: clusterChoice(f),
      target: packetTarget(f),
      loglevel,
      output: f.output,
      skipDetrace: f.skipDetrace === true,
      allBackends: f.allBackends === true,
      timeoutMs,
    },
    processIO(),
  );
}
