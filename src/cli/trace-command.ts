import type { Command } from "commander";
import { InputError } from "../errors.js";
import { resolveTarget, type Resolution } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import { dumpUdnVrfTableIds, formatUdnVrfTableIds } from "../engine/udn.js";
import { firstFailure, renderGoText } from "../render/go-text.js";
import { addClusterOptions, openBackend, type ClusterFlags } from "./cluster-options.js";
import { EXIT } from "./exit-codes.js";
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

function resolutionText(r: Resolution): string {
  const lines = [
    `source: pod ${r.src.namespace}/${r.src.name} on ${r.src.node}, ${r.src.ip} ${r.src.mac}${r.src.hostNetwork ? " (host network)" : ""}`,
    `destination: ${r.dst.kind === "external" ? r.dst.ip : r.dst.kind === "pod" ? `pod ${r.dst.namespace}/${r.dst.name} on ${r.dst.node}, ${r.dst.ip}` : `service ${r.dst.namespace}/${r.dst.name} ${r.dst.ip}:${r.dst.port} -> ${r.dst.backends.map((b) => `${b.namespace}/${b.name} ${b.ip}:${r.dst.kind === "service" ? r.dst.targetPort : ""}`).join(", ")}`}`,
    ...[...r.nodes.values()].map(
      (n) =>
        `node ${n.name}: zone ${n.zone}, ${n.gatewayMode} gateway, subnets ${n.subnets.join(",")}, gateway MAC ${n.gatewayMac}`,
    ),
  ];
  return lines.join("\n");
}

/** Runs the Go tool's job; returns the exit status (the caller prints errors). */
export async function traceAction(f: TraceFlags): Promise<number> {
  if (f.output !== "text" && f.output !== "json")
    throw new InputError(`-o must be text or json, not "${f.output}"`);
  const loglevel = number(f.loglevel, "-loglevel", 0, 10);
  const timeoutMs = number(f.timeout, "--timeout", 100, 3_600_000);
  if (f.dumpUdnVrfTableIds === true) {
    const b = await openBackend(f, timeoutMs);
    try {
      process.stdout.write(`${formatUdnVrfTableIds(await dumpUdnVrfTableIds(b))}\n`);
      return EXIT.ok;
    } finally {
      await b.close();
    }
  }
  const target = packetTarget(f);
  const b = await openBackend(f, timeoutMs);
  try {
    const resolution = await resolveTarget(b, target);
    if (loglevel >= 5) process.stderr.write(`${resolutionText(resolution)}\n`);
    const reports = await runTraces(b, resolution, {
      skipDetrace: f.skipDetrace === true,
      allBackends: f.allBackends === true,
    });
    if (f.output === "json") process.stdout.write(`${JSON.stringify(reports, null, 2)}\n`);
    else process.stdout.write(`${renderGoText(reports, { loglevel, color: process.stdout.isTTY })}\n`);
    const failed = firstFailure(reports);
    if (failed === undefined) return EXIT.ok;
    process.stderr.write(`failure: ${failed.check.tool} (${failed.direction}): ${failed.check.detail}\n`);
    return EXIT.traceFailure;
  } finally {
    await b.close();
  }
}
