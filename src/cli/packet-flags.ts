import type { Command } from "commander";
import type { TargetRequest } from "../app/target-request.js";
import { InputError } from "../errors.js";
import { splitRef } from "./argv.js";

/** The flags that say which packet: the Go tool's, shared by the trace and `lab probe`. */
export interface PacketFlags {
  src?: string;
  /** A client outside the cluster instead of a pod: its address, and the node whose uplink it enters. */
  srcIp?: string;
  srcNode?: string;
  dst?: string;
  service?: string;
  dstIp?: string;
  /** `-n`: the namespace of both ends, unless -src-namespace / -dst-namespace say otherwise. */
  namespace?: string;
  srcNamespace?: string;
  dstNamespace?: string;
  dstPort: string;
  tcp?: boolean;
  udp?: boolean;
  icmp?: boolean;
  addrFamily?: string;
}

export function addPacketOptions(c: Command, defaultNamespace: string): Command {
  return c
    .option("--src <POD>", "source pod name (NAME or NAMESPACE/NAME)")
    .option("--src-ip <IP>", "source outside the cluster: its address (with -src-node, instead of -src)")
    .option(
      "--src-node <NODE>",
      "the node whose external interface the packet from -src-ip enters (to its IP and a -service's nodePort)",
    )
    .option("--dst <POD>", "destination pod name (NAME or NAMESPACE/NAME)")
    .option("--service <SVC>", "destination service name (its cluster IP)")
    .option("--dst-ip <IP>", "destination IP address (meant for tests to external targets)")
    .option(
      "-n, --namespace <NS>",
      `namespace of the source and the destination (default: ${defaultNamespace})`,
    )
    .option("--src-namespace <NS>", "namespace of the source pod (default: -n)")
    .option("--dst-namespace <NS>", "namespace of the destination pod or service (default: -n)")
    .option("--dst-port <PORT>", "destination port", "80")
    .option("--tcp", "use TCP")
    .option("--udp", "use UDP (services too, which the Go tool refuses)")
    .option("--icmp", "use ICMP / ICMPv6 echo")
    .option("--addr-family <FAMILY>", "ip4 | ip6 (default: the source pod's first IP)");
}

export function number(v: string, flag: string, min: number, max: number): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new InputError(`${flag} must be a number from ${min} to ${max}, not "${v}"`);
  }
  return n;
}

/**
 * The packet the flags describe. The Go tool wants exactly one of -tcp/-udp; with `defaultProtocol` (lab
 * probe) none given means that one. A name's namespace: `NAMESPACE/NAME`, else -src-namespace or
 * -dst-namespace, else -n, else none here (the cluster's default namespace, once it is known).
 */
export function packetTarget(f: PacketFlags, defaultProtocol?: TargetRequest["protocol"]): TargetRequest {
  const outside = f.srcIp !== undefined || f.srcNode !== undefined;
  if (outside && (f.src !== undefined || f.srcIp === undefined || f.srcNode === undefined))
    throw new InputError("a source outside the cluster takes both -src-ip and -src-node, and no -src", {
      hint: "ovnkube-trace -src-ip 172.18.0.1 -src-node NODE -service NAME -tcp",
    });
  if (f.src === undefined && !outside) {
    throw new InputError("-src is required: the source pod name", {
      hint: "ovnkube-trace -src POD -dst POD -tcp",
    });
  }
  const protos = (["tcp", "udp", "icmp"] as const).filter((p) => f[p] === true);
  const protocol = protos.length === 0 ? defaultProtocol : protos.length === 1 ? protos[0] : undefined;
  if (protocol === undefined) throw new InputError("give exactly one of -tcp, -udp, -icmp");
  const dests = [f.dst, f.service, f.dstIp].filter((x) => x !== undefined);
  if (dests.length !== 1) throw new InputError("give exactly one of -dst, -service, -dst-ip");
  if (f.addrFamily !== undefined && f.addrFamily !== "ip4" && f.addrFamily !== "ip6") {
    throw new InputError(`-addr-family must be ip4 or ip6, not "${f.addrFamily}"`);
  }
  const dstNamespace = f.dstNamespace ?? f.namespace;
  const dst: TargetRequest["dst"] =
    f.dst !== undefined
      ? { kind: "pod", ...splitRef(f.dst, dstNamespace) }
      : f.service !== undefined
        ? { kind: "service", ...splitRef(f.service, dstNamespace) }
        : { kind: "ip", ip: f.dstIp ?? "" };
  return {
    src:
      f.srcIp !== undefined && f.srcNode !== undefined
        ? { kind: "external", ip: f.srcIp, node: f.srcNode }
        : splitRef(f.src ?? "", f.srcNamespace ?? f.namespace),
    dst,
    protocol,
    dstPort: number(f.dstPort, "-dst-port", 1, 65535),
    ...(f.addrFamily === undefined ? {} : { family: f.addrFamily === "ip6" ? 6 : 4 }),
  };
}
