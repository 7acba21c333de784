import type { Check, Endpoint, Hop, Verdict } from "../model/report.js";
import type { ResolvedPod } from "../model/target.js";
import { podEndpoint, type Expectation } from "./plan.js";
import type { OpenFlowEnd } from "./stitch.js";

/**
 * A direction's verdict and the Go tool's checks (one per tool: did it end where a success ends), from
 * what the traces found. Pure.
 */

/** The node's management port k8s-<node>: OVN hands a packet to the node's host network stack through it. */
export const managementPort = (node: string): string => `k8s-${node}`;

function podFromLsp(lsp: string, node: string, known: readonly ResolvedPod[]): Endpoint {
  const k = known.find((p) => p.lsp === lsp);
  if (k !== undefined) return podEndpoint(k);
  if (lsp === managementPort(node)) return { kind: "node", name: node, ip: "" };
  const i = lsp.indexOf("_");
  return {
    kind: "pod",
    namespace: lsp.slice(0, i),
    name: lsp.slice(i + 1),
    node,
    ip: "",
    lsp,
    hostNetwork: false,
  };
}

/** The verdict from where OpenFlow ended, with the logical stage of a drop when ovn-trace names it. */
export function verdictOf(
  end: OpenFlowEnd,
  logical: Hop | undefined,
  known: readonly ResolvedPod[],
): Verdict {
  switch (end.kind) {
    case "delivered":
      return {
        kind: "delivered",
        to:
          end.ifaceId === undefined
            ? { kind: "node", name: end.node, ip: "" }
            : podFromLsp(end.ifaceId, end.node, known),
        node: end.node,
        port: end.iface,
        ...end.packet,
      };
    case "left-cluster":
      return {
        kind: "left-cluster",
        node: end.node,
        via: end.iface,
        ...(end.snatIp === undefined ? {} : { snatIp: end.snatIp }),
        ...end.packet,
      };
    case "dropped": {
      const lo = logical?.outcome;
      const stage = lo?.kind === "dropped" ? ` [logical: ${lo.where}]` : "";
      return {
        kind: "dropped",
        node: end.node,
        where: `${end.where}${stage}`,
        reason: lo?.kind === "dropped" ? lo.reason : end.reason,
      };
    }
    case "controller":
      // what ovn-controller does with it (a reject's answer, an ICMP error) is decided from its logical flow
      return {
        kind: "unknown",
        reason: `${end.node}: the packet is handed to ovn-controller${end.cookie === undefined ? "" : ` by the flow with cookie ${end.cookie}`}, where ofproto/trace cannot follow it`,
      };
    case "error":
      return { kind: "unknown", reason: `${end.node}: ${end.message}` };
  }
}

/** A hop's outcome in a few words, for the checks' details. */
export function describeHop(h: Hop | undefined): string {
  const x = h?.outcome;
  if (h === undefined || x === undefined) return "no trace ran";
  if (x.kind === "output") return `output to "${x.port}"${x.portType ? ` (${x.portType})` : ""} on ${h.node}`;
  if (x.kind === "dropped") return `dropped on ${h.node} in ${x.where}: ${x.reason}`;
  if (x.kind === "tunnel") return `tunnel to ${x.toNode}`;
  return `error on ${h.node}: ${x.message}`;
}

/**
 * The Go tool's two checks. A packet that leaves OVN does so through the gateway router's localnet port
 * (shared gateway) or the management port k8s-<node> (local gateway, same node).
 */
export function checksOf(
  expect: Expectation,
  lastLogical: Hop | undefined,
  lastOpenFlow: Hop | undefined,
  end: OpenFlowEnd,
): Check[] {
  const lo = lastLogical?.outcome;
  const logicalOk =
    lo?.kind === "output" &&
    (expect.kind === "pod"
      ? lo.port === expect.lsp
      : expect.kind !== "none" && (lo.portType === "localnet" || lo.port.startsWith("k8s-")));
  const ofOk =
    expect.kind === "pod"
      ? end.kind === "delivered" && end.ifaceId === expect.lsp
      : expect.kind !== "none" &&
        (end.kind === "left-cluster" ||
          (end.kind === "delivered" && end.ifaceId?.startsWith("k8s-") === true));
  const failed = (tool: "ovn-trace" | "ofproto/trace", last: Hop | undefined): string => {
    const got = describeHop(last);
    if (expect.kind === "none") return `${expect.why}: ${got}`;
    if (tool === "ovn-trace")
      return `expected output to ${expect.kind === "pod" ? `"${expect.lsp}"` : "the node's gateway"}; got ${got}`;
    return `expected ${expect.kind === "pod" ? `delivery to ${expect.lsp}` : "to leave the cluster"}; got ${got}`;
  };
  return [
    {
      tool: "ovn-trace",
      success: logicalOk,
      detail: logicalOk ? describeHop(lastLogical) : failed("ovn-trace", lastLogical),
    },
    {
      tool: "ofproto/trace",
      success: ofOk,
      detail: ofOk ? describeHop(lastOpenFlow) : failed("ofproto/trace", lastOpenFlow),
    },
  ];
}
