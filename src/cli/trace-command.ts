import type { Command } from "commander";
import type { ClusterBackend } from "../cluster/backend.js";
import { KubeBackend } from "../cluster/kube/backend.js";
import { LabBackend } from "../cluster/lab/backend.js";
import { InputError } from "../errors.js";
import { resolveTarget, type Resolution, type TraceTarget } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import { dumpUdnVrfTableIds, formatUdnVrfTableIds } from "../engine/udn.js";
import { DEFAULT_LAB_DIR } from "../lab/lab.js";
import type { Family } from "../model/report.js";
import { firstFailure, renderGoText } from "../render/go-text.js";
import { splitRef } from "./argv.js";
import { EXIT } from "./exit-codes.js";

/** The Go ovnkube-trace's flags (single-dash works too), plus ours. */
export interface TraceFlags {
  src?: string;
  dst?: string;
  service?: string;
  dstIp?: string;
  srcNamespace: string;
  dstNamespace: string;
  dstPort: string;
  tcp?: boolean;
  udp?: boolean;
  icmp?: boolean;
  kubeconfig?: string;
  context?: string;
  loglevel: string;
  ovnConfigNamespace?: string;
  addrFamily?: string;
  skipDetrace?: boolean;
  dumpUdnVrfTableIds?: boolean;
  allBackends?: boolean;
  output: string;
  lab?: string | boolean;
  timeout: string;
}

export function registerTraceOptions(program: Command): void {
  program
    .option("--src <POD>", "source pod name (required)")
    .option("--dst <POD>", "destination pod name")
    .option("--service <SVC>", "destination service name (ClusterIP or NodePort)")
    .option("--dst-ip <IP>", "destination IP address (meant for tests to external targets)")
    .option("--src-namespace <NS>", "namespace of the source pod", "default")
    .option("--dst-namespace <NS>", "namespace of the destination pod or service", "default")
    .option("--dst-port <PORT>", "destination port", "80")
    .option("--tcp", "use TCP")
    .option("--udp", "use UDP (services too, which the Go tool refuses)")
    .option("--icmp", "use ICMP / ICMPv6 echo")
    .option("--kubeconfig <FILE>", "kubeconfig (default $KUBECONFIG, then ~/.kube/config)")
    .option("--context <NAME>", "kubeconfig context")
    .option(
      "--loglevel <N>",
      "0: verdict lines; 2: + tool outputs; 4: + command lines; 5: + resolution details",
      "0",
    )
    .option(
      "--ovn-config-namespace <NS>",
      "namespace of the ovnkube-node pods (default: found by label app=ovnkube-node)",
    )
    .option("--addr-family <FAMILY>", "ip4 | ip6 (default: the source pod's first IP)")
    .option("--skip-detrace", "skip the ovn-detrace step")
    .option(
      "--dump-udn-vrf-table-ids",
      "print the VRF table id of every user-defined network on every node, as JSON, and exit",
    )
    .option("--all-backends", "trace to every backend of a service, not just the first")
    .option("-o, --output <FORMAT>", "text | json (the trace reports)", "text")
    .option("--lab [DIR]", `trace on the built-in lab instead of a cluster (default dir ${DEFAULT_LAB_DIR})`)
    .option("--timeout <MS>", "timeout of every exec and API call, in milliseconds", "30000");
}

function number(v: string, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max)
    throw new InputError(`${flag} must be a number from ${min} to ${max}, not "${v}"`);
  return n;
}

function targetOf(f: TraceFlags): TraceTarget {
  if (f.src === undefined)
    throw new InputError("-src is required: the source pod name", {
      hint: "ovnkube-trace -src POD -dst POD -tcp",
    });
  const protos = (["tcp", "udp", "icmp"] as const).filter((p) => f[p] === true);
  if (protos.length !== 1) throw new InputError("give exactly one of -tcp, -udp, -icmp");
  const dests = [f.dst, f.service, f.dstIp].filter((x) => x !== undefined);
  if (dests.length !== 1) throw new InputError("give exactly one of -dst, -service, -dst-ip");
  let family: Family | undefined;
  if (f.addrFamily !== undefined) {
    if (f.addrFamily !== "ip4" && f.addrFamily !== "ip6")
      throw new InputError(`-addr-family must be ip4 or ip6, not "${f.addrFamily}"`);
    family = f.addrFamily === "ip6" ? 6 : 4;
  }
  const src = splitRef(f.src, f.srcNamespace);
  const dst: TraceTarget["dst"] =
    f.dst !== undefined
      ? { kind: "pod", ...splitRef(f.dst, f.dstNamespace) }
      : f.service !== undefined
        ? { kind: "service", ...splitRef(f.service, f.dstNamespace) }
        : { kind: "ip", ip: f.dstIp ?? "" };
  return {
    src,
    dst,
    protocol: protos[0] ?? "tcp",
    dstPort: number(f.dstPort, "-dst-port", 1, 65535),
    ...(family === undefined ? {} : { family }),
  };
}

function backendOf(f: TraceFlags, timeoutMs: number): ClusterBackend {
  if (f.lab !== undefined && f.lab !== false) {
    return LabBackend.open(
      typeof f.lab === "string" ? f.lab : (process.env.OVNKUBE_TRACE_LAB_DIR ?? DEFAULT_LAB_DIR),
    );
  }
  return new KubeBackend({
    ...(f.kubeconfig === undefined ? {} : { kubeconfig: f.kubeconfig }),
    ...(f.context === undefined ? {} : { context: f.context }),
    ...(f.ovnConfigNamespace === undefined ? {} : { ovnNamespace: f.ovnConfigNamespace }),
    requestTimeoutMs: timeoutMs,
    execTimeoutMs: timeoutMs,
  });
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
    const b = backendOf(f, timeoutMs);
    try {
      process.stdout.write(`${formatUdnVrfTableIds(await dumpUdnVrfTableIds(b))}\n`);
      return EXIT.ok;
    } finally {
      await b.close();
    }
  }
  const target = targetOf(f);
  const b = backendOf(f, timeoutMs);
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
