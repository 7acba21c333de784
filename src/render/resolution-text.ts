import type { Resolution } from "../model/target.js";
import { hostPort } from "../net/ip.js";

/** What the target resolved to (pods, service backends, nodes), as `-loglevel 5` shows it. */
export function resolutionText(r: Resolution): string {
  const d = r.dst;
  const destination =
    d.kind === "external"
      ? d.ip
      : d.kind === "pod"
        ? `pod ${d.namespace}/${d.name} on ${d.node}, ${d.ip}`
        : `service ${d.namespace}/${d.name} ${hostPort(d.ip, d.port)} -> ${d.backends.map((b) => `${b.namespace}/${b.name} ${hostPort(b.ip, d.targetPort)}`).join(", ")}`;
  return [
    r.src.kind === "external"
      ? `source: ${r.src.ip} outside the cluster, entering node ${r.src.node} on ${r.src.bridge} (${r.src.lsp}), to ${r.src.nodeMac}`
      : `source: pod ${r.src.namespace}/${r.src.name} on ${r.src.node}, ${r.src.ip} ${r.src.mac}${r.src.hostNetwork ? " (host network)" : ""}`,
    `destination: ${destination}`,
    ...[...r.nodes.values()].map(
      (n) =>
        `node ${n.name}: zone ${n.zone}, ${n.gatewayMode} gateway, subnets ${n.subnets.join(",")}, gateway MAC ${n.gatewayMac}`,
    ),
  ].join("\n");
}
