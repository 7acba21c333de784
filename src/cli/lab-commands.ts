import { mkdtempSync } from "node:fs";
import type { Command } from "commander";
import { InputError, LabStateError } from "../errors.js";
import type { ClusterShape } from "../lab/scenario.js";
import { defaultDemoCases, runDemoCase } from "../app/demo.js";
import type { TraceReport } from "../model/report.js";
import { DEFAULT_SCENARIO } from "../lab/examples.js";
import {
  DEFAULT_LAB_DIR,
  deadDaemons,
  labDown,
  labUp,
  nodeEnv,
  nodeNetns,
  readLabState,
  type LabState,
} from "../lab/lab.js";
import { labLayout } from "../lab/layout.js";
import { loadScenarioFile } from "../lab/load-scenario.js";
import { describeProbe, probe } from "../lab/probe.js";
import { addPacketOptions, number, packetTarget, type PacketFlags } from "./packet-flags.js";
import { progressReporter } from "./progress.js";

const out = (s: string): void => {
  process.stdout.write(s.endsWith("\n") ? s : `${s}\n`);
};

function shapeOf(v: string | undefined): ClusterShape | undefined {
  if (v === undefined || v === "central" || v === "interconnect") return v;
  throw new InputError(`--shape must be central or interconnect, not "${v}"`);
}

function outputFormat(v: string | undefined): "text" | "json" {
  if (v === undefined || v === "text" || v === "json") return v ?? "text";
  throw new InputError(`-o must be json or text, not "${v}"`);
}

function runningLab(dir: string): LabState {
  const s = readLabState(dir);
  if (s?.phase !== "up") {
    throw new LabStateError(`no lab is running in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
  }
  const dead = deadDaemons(s);
  if (dead.length > 0) {
    throw new LabStateError(
      `the lab in ${dir} is broken: ${dead.map((d) => `${d.owner}/${d.program}`).join(", ")} not running`,
      {
        hint: "restart it: ovnkube-trace lab down && ovnkube-trace lab up",
      },
    );
  }
  return s;
}

function statusText(s: LabState): string {
  const c = s.cluster;
  const lines = [
    `lab "${c.name}" (${c.shape}, ${c.families.map((f) => `IPv${f}`).join("+")}) in ${s.dir}: ${s.phase}, ${s.daemons.length - deadDaemons(s).length}/${s.daemons.length} daemons running`,
    `kubernetes objects: ${labLayout(s.dir).kubernetesFile}`,
    "",
    "NODE".padEnd(24) + "ZONE".padEnd(24) + "IP".padEnd(16) + "SUBNETS",
    ...c.nodes.map(
      (n) => n.name.padEnd(24) + n.zone.padEnd(24) + n.ip.padEnd(16) + Object.values(n.subnets).join(","),
    ),
    "",
    "POD".padEnd(48) + "NODE".padEnd(24) + "IPS".padEnd(34) + "OVS PORT",
    ...c.pods.map(
      (p) =>
        `${p.namespace}/${p.name}`.padEnd(48) +
        p.node.padEnd(24) +
        Object.values(p.ips).join(",").padEnd(34) +
        (p.hostNetwork ? "(host network)" : p.iface),
    ),
  ];
  return lines.join("\n");
}

export function registerLabCommands(program: Command): void {
  const lab = program
    .command("lab")
    .description(
      "the built-in lab: a real ovn-kubernetes-shaped OVN cluster on this machine (no containers)",
    );
  const dirOpt = (c: Command): Command =>
    c.option("--dir <DIR>", "lab directory (default $OVNKUBE_TRACE_LAB_DIR or " + DEFAULT_LAB_DIR + ")");
  const dirOf = (o: { dir?: string }): string =>
    o.dir ?? process.env.OVNKUBE_TRACE_LAB_DIR ?? DEFAULT_LAB_DIR;

  dirOpt(
    lab
      .command("up")
      .description("start the lab from a scenario file (a no-op if the same lab is already running)")
      .option("--scenario <FILE>", "scenario YAML or JSON (docs/scenario.md)", DEFAULT_SCENARIO)
      .option("--shape <SHAPE>", "central | interconnect (overrides the scenario's shape)")
      .option("-o, --output <FORMAT>", "text | json"),
  ).action(async (o: { scenario: string; shape?: string; dir?: string; output?: string }) => {
    const fmt = outputFormat(o.output);
    const cluster = loadScenarioFile(o.scenario, shapeOf(o.shape));
    const r = await labUp(cluster, dirOf(o), { scenarioFile: o.scenario, progress: progressReporter() });
    if (fmt === "json")
      out(JSON.stringify({ started: r.started, dir: r.state.dir, timingsMs: r.state.timingsMs }, null, 2));
    else if (!r.started) out(`lab "${cluster.name}" is already running in ${r.state.dir}; nothing to do`);
    else
      out(
        `lab "${cluster.name}" (${cluster.shape}, ${cluster.nodes.length} nodes) is up in ${r.state.timingsMs.total ?? 0} ms: ${r.state.dir}\ntry: ovnkube-trace lab status${o.dir === undefined ? "" : ` --dir ${o.dir}`}`,
      );
  });

  dirOpt(
    lab
      .command("status")
      .description("show the lab's nodes, pods and daemons")
      .option("-o, --output <FORMAT>", "text | json"),
  ).action((o: { dir?: string; output?: string }) => {
    const fmt = outputFormat(o.output);
    const dir = dirOf(o);
    const s = readLabState(dir);
    if (s === undefined)
      throw new LabStateError(`no lab in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
    const dead = deadDaemons(s);
    if (fmt === "json") out(JSON.stringify({ ...s, deadDaemons: dead }, null, 2));
    else out(statusText(s));
    if (dead.length > 0 || s.phase !== "up") process.exitCode = 1;
  });

  dirOpt(
    lab
      .command("env")
      .argument("<NODE>", "node name")
      .description(
        "print the environment for running ovs-vsctl, ovs-appctl, ovn-nbctl, ovn-trace... on a node by hand",
      ),
  ).action((node: string, o: { dir?: string }) => {
    const s = runningLab(dirOf(o));
    const env = nodeEnv(s, node);
    const keys = Object.keys(env)
      .filter((k) => /^(OVS|OVN)_/.test(k))
      .sort();
    out(
      `# eval "$(ovnkube-trace lab env ${node})"; then: ovs-vsctl show, ovs-appctl ofproto/trace br-int ..., ovn-nbctl show, ovn-trace ...`,
    );
    out(keys.map((k) => `export ${k}=${env[k] ?? ""}`).join("\n"));
    const ns = nodeNetns(s, node);
    if (ns !== undefined) out(`# the node's own links and routes: ip netns exec ${ns} ip -j link`);
  });

  dirOpt(
    addPacketOptions(
      lab
        .command("probe")
        .description("inject a real packet at a pod's port and report where it arrived (ground truth)"),
    )
      .option("--src-port <PORT>", "source port (default: a fresh one per probe)")
      .option("-o, --output <FORMAT>", "text | json"),
  ).action(async (o: PacketFlags & { dir?: string; srcPort?: string; output?: string }) => {
    const fmt = outputFormat(o.output);
    const t = packetTarget(o, "tcp");
    const r = await probe(runningLab(dirOf(o)), {
      src: t.src,
      dst: t.dst,
      protocol: t.protocol,
      dstPort: t.dstPort,
      ...(o.srcPort === undefined ? {} : { srcPort: number(o.srcPort, "--src-port", 1, 65535) }),
      ...(t.family === undefined ? {} : { family: t.family }),
    });
    out(fmt === "json" ? JSON.stringify(r, null, 2) : describeProbe(r));
  });

  dirOpt(
    lab.command("down").description("stop every lab daemon (by pid) and remove the lab directory"),
  ).action(async (o: { dir?: string }) => {
    const t = performance.now();
    const n = await labDown(dirOf(o));
    out(`stopped ${n} daemons in ${Math.round(performance.now() - t)} ms; removed ${dirOf(o)}`);
  });
}

function renderDemo(title: string, r: TraceReport): string {
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
  const v = f.verdict;
  lines.push(
    `  verdict: ${v.kind === "delivered" ? `delivered to ${v.to.kind === "pod" ? `${v.to.namespace}/${v.to.name}` : v.port} on ${v.node}` : v.kind === "dropped" ? `dropped on ${v.node} in ${v.where}` : v.kind}`,
  );
  if (v.kind === "dropped" && v.explanation !== undefined) lines.push(`  why: ${v.explanation}`);
  const g = f.groundTruth;
  if (g !== undefined) {
    lines.push(
      `  real packet: ${g.verdict}${g.pod === undefined ? "" : ` to ${g.pod}`}${g.node === undefined ? "" : ` on ${g.node}`}${g.dstIp === undefined ? "" : ` (${g.srcIp ?? ""} -> ${g.dstIp})`}`,
    );
    lines.push(`  trace and real packet ${g.agrees ? "agree" : "DISAGREE"}`);
  }
  return lines.join("\n");
}

export function registerDemoCommand(program: Command): void {
  program
    .command("demo")
    .description(
      "bring the lab up, trace a pod to a pod on another node, check it against a real packet, tear down",
    )
    .option("--scenario <FILE>", "scenario YAML or JSON", DEFAULT_SCENARIO)
    .option("--shape <SHAPE>", "central | interconnect")
    .option("--keep", "leave the lab running afterwards")
    .option("-o, --output <FORMAT>", "text | json (the trace reports)")
    .action(async (o: { scenario: string; shape?: string; keep?: boolean; output?: string }) => {
      const fmt = outputFormat(o.output);
      const cluster = loadScenarioFile(o.scenario, shapeOf(o.shape));
      const dir = mkdtempSync("/tmp/ovnkube-trace-demo-");
      process.stderr.write(`starting lab "${cluster.name}" (${cluster.shape}) in ${dir}\n`);
      const { state } = await labUp(cluster, dir, { progress: progressReporter() });
      let agreeAll = true;
      try {
        const say = fmt === "text" ? out : (m: string) => process.stderr.write(`${m}\n`);
        say(
          `lab "${cluster.name}" (${cluster.shape}, ${cluster.nodes.length} nodes, ${state.daemons.length} daemons) up in ${state.timingsMs.total ?? 0} ms`,
        );
        const cases = defaultDemoCases(state);
        if (cases.length === 0)
          throw new InputError("the demo needs pods default/client and default/web in the scenario");
        const reports: TraceReport[] = [];
        for (const k of cases) {
          const r = await runDemoCase(state, k);
          reports.push(r);
          agreeAll &&= r.forward.groundTruth?.agrees ?? false;
          if (fmt === "text") out(renderDemo(k.title, r));
        }
        if (fmt === "json") out(JSON.stringify(reports, null, 2));
      } finally {
        if (o.keep !== true) {
          const t = performance.now();
          const n = await labDown(dir);
          process.stderr.write(`lab stopped (${n} daemons) in ${Math.round(performance.now() - t)} ms\n`);
        } else process.stderr.write(`lab left running: ovnkube-trace lab status --dir ${dir}\n`);
      }
      if (!agreeAll) process.exitCode = 1;
    });
}
