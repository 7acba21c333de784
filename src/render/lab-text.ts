import type { LabDaemon, LabState } from "../lab/lab.js";
import type { TraceReport } from "../model/report.js";
import { describeVerdict } from "./go-text.js";

/** `lab status`: the lab's nodes and pods, and how many of its daemons run. */
export function labStatusText(s: LabState, dead: readonly LabDaemon[], kubernetesFile: string): string {
  const c = s.cluster;
  const lines = [
    `lab "${c.name}" (${c.shape}${c.gatewayMode === "local" ? ", local gateway" : ""}, ${c.families.map((f) => `IPv${f}`).join("+")}) in ${s.dir}: ${s.phase}, ${s.daemons.length - dead.length}/${s.daemons.length} daemons running`,
    `kubernetes objects: ${kubernetesFile}`,
    "",
    "NODE".padEnd(24) + "ZONE".padEnd(24) + "IP".padEnd(16) + "SUBNETS",
    ...c.nodes.map(
      (n) => n.name.padEnd(24) + n.zone.padEnd(24) + n.ip.padEnd(16) + Object.values(n.subnets).join(","),
    ),
    "",
    "POD".padEnd(48) + "NODE".padEnd(24) + "IPS".padEnd(34) + "OVS PORT",
    ...c.pods.flatMap((p) => [
      `${p.namespace}/${p.name}`.padEnd(48) +
        p.node.padEnd(24) +
        Object.values(p.ips).join(",").padEnd(34) +
        (p.hostNetwork ? "(host network)" : p.iface),
      // its interface on its primary user-defined network, under it
      ...(p.primaryNetwork === undefined
        ? []
        : [
            `  on ${p.primaryNetwork.network}`.padEnd(72) +
              Object.values(p.primaryNetwork.ips).join(",").padEnd(34) +
              p.primaryNetwork.iface,
          ]),
    ]),
  ];
  return lines.join("\n");
}

/** `lab env NODE`: the exports that point ovs-*, ovn-* at one node of the lab. */
export function labEnvText(
  node: string,
  env: Readonly<Record<string, string | undefined>>,
  netns?: string,
): string {
  const keys = Object.keys(env)
    .filter((k) => /^(OVS|OVN)_/.test(k))
    .sort();
  return [
    `# eval "$(ovnkube-trace lab env ${node})"; then: ovs-vsctl show, ovs-appctl ofproto/trace br-int ..., ovn-nbctl show, ovn-trace ...`,
    ...keys.map((k) => `export ${k}=${env[k] ?? ""}`),
    ...(netns === undefined ? [] : [`# the node's own links and routes: ip netns exec ${netns} ip -j link`]),
  ].join("\n");
}

/** One demo case: the forward trace hop by hop, its verdict, and what the real packet did. */
export function demoCaseText(title: string, r: TraceReport): string {
  const f = r.forward;
  const lines = [
    `\n${title}`,
    `  ${f.packet.srcIp} -> ${f.packet.dstIp} ${f.packet.protocol.toUpperCase()} ${f.packet.dstPort ?? ""}`,
  ];
  for (const h of f.hops) {
    const o = h.outcome;
    const what =
      o.kind === "output"
        ? `output to "${o.port}"${o.portType ? ` (${o.portType})` : ""}`
        : o.kind === "dropped"
          ? `DROPPED in ${o.where}: ${o.reason}`
          : o.kind === "tunnel"
            ? `tunnel to ${o.toNode}`
            : `error: ${o.message}`;
    lines.push(`  ${h.tool} on ${h.node}: ${what}`);
  }
  lines.push(`  verdict: ${describeVerdict(f.verdict)}`);
  const g = f.groundTruth;
  if (g !== undefined) {
    lines.push(
      `  real packet: ${g.verdict}${g.pod === undefined ? "" : ` to ${g.pod}`}${g.node === undefined ? "" : ` on ${g.node}`}${g.dstIp === undefined ? "" : ` (${g.srcIp ?? ""} -> ${g.dstIp})`}`,
    );
    lines.push(`  trace and real packet ${g.agrees ? "agree" : "DISAGREE"}`);
  }
  return lines.join("\n");
}
