import { existsSync } from "node:fs";
import { InputError, LabStateError } from "../errors.js";
import { deadDaemons, labDown, labUp, nodeEnv, nodeNetns, readLabState, type LabState } from "../lab/lab.js";
import { resolveScenario } from "../lab/cluster.js";
import { labLayout } from "../lab/layout.js";
import { loadScenarioFile } from "../lab/load-scenario.js";
import { scaleScenario, type ScaleOptions } from "../lab/scale-scenario.js";
import { probe } from "../lab/probe.js";
import type { ClusterShape } from "../lab/scenario.js";
import { renderDocument, versioned } from "../render/document.js";
import { labEnvText, labStatusText } from "../render/lab-text.js";
import { probeText } from "../render/probe-text.js";
import { ok, type CommandIO, type CommandResult, type OutputFormat } from "./command.js";
import { completeTarget, type TargetRequest } from "./target-request.js";

/** The lab commands: up, status, env, probe, down. */

export type { OutputFormat } from "./command.js";

/** `--shape`: central | interconnect, or the scenario's own. */
export function clusterShape(v: string | undefined): ClusterShape | undefined {
  if (v === undefined || v === "central" || v === "interconnect") return v;
  throw new InputError(`--shape must be central or interconnect, not "${v}"`);
}

/** A lab that is up with every daemon running, or a LabStateError saying what to do. */
export function runningLab(dir: string): LabState {
  const s = readLabState(dir);
  if (s?.phase !== "up")
    throw new LabStateError(`no lab is running in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
  const dead = deadDaemons(s);
  if (dead.length > 0)
    throw new LabStateError(
      `the lab in ${dir} is broken: ${dead.map((d) => `${d.owner}/${d.program}`).join(", ")} not running`,
      { hint: "restart it: ovnkube-trace lab down && ovnkube-trace lab up" },
    );
  return s;
}

export interface LabUpCommand {
  readonly scenario: string;
  readonly shape?: string;
  /** `--scale`: a generated scenario of that size instead of the file (lab/scale-scenario.ts). */
  readonly scale?: Omit<ScaleOptions, "shape">;
  readonly dir: string;
  /** Whether the user named the directory (then the hint repeats it). */
  readonly dirGiven: boolean;
  readonly output: OutputFormat;
}

export async function labUpCommand(c: LabUpCommand, io: CommandIO): Promise<CommandResult> {
  const shape = clusterShape(c.shape);
  const cluster =
    c.scale === undefined
      ? loadScenarioFile(c.scenario, shape)
      : resolveScenario(scaleScenario({ ...c.scale, ...(shape === undefined ? {} : { shape }) }));
  const r = await labUp(cluster, c.dir, {
    ...(c.scale === undefined ? { scenarioFile: c.scenario } : {}),
    progress: (step, ms) => {
      io.progress(`  \u2713 ${step} (${String(ms)} ms)`);
    },
    note: io.progress,
  });
  if (c.output !== "text")
    return ok(
      renderDocument(
        versioned("LabUp", { started: r.started, dir: r.state.dir, timingsMs: r.state.timingsMs }),
        c.output,
      ),
    );
  if (!r.started) return ok(`lab "${cluster.name}" is already running in ${r.state.dir}; nothing to do`);
  return ok(
    `lab "${cluster.name}" (${cluster.shape}, ${String(cluster.nodes.length)} nodes) is up in ${String(r.state.timingsMs.total ?? 0)} ms: ${r.state.dir}\ntry: ovnkube-trace lab status${c.dirGiven ? ` --dir ${c.dir}` : ""}`,
  );
}

export function labStatusCommand(dir: string, output: OutputFormat): CommandResult {
  const s = readLabState(dir);
  if (s === undefined)
    throw new LabStateError(`no lab in ${dir}`, { hint: "start one with: ovnkube-trace lab up" });
  const dead = deadDaemons(s);
  const text =
    output === "text"
      ? labStatusText(s, dead, labLayout(s.dir).kubernetesFile)
      : renderDocument(versioned("LabStatus", { ...s, deadDaemons: dead }), output);
  if (s.phase !== "up") return { output: text, failure: `the lab in ${dir} is ${s.phase}, not up` };
  if (dead.length > 0)
    return { output: text, failure: `${String(dead.length)} of the lab's daemons are not running` };
  return ok(text);
}

export function labEnvCommand(dir: string, node: string): CommandResult {
  const s = runningLab(dir);
  return ok(labEnvText(node, nodeEnv(s, node), nodeNetns(s, node)));
}

export interface LabProbeCommand {
  readonly dir: string;
  /** Names without a namespace are in "default" (the lab has no kubeconfig context). */
  readonly target: TargetRequest;
  readonly srcPort?: number;
  readonly output: OutputFormat;
}

export async function labProbeCommand(c: LabProbeCommand): Promise<CommandResult> {
  const t = completeTarget(c.target, "default");
  const r = await probe(runningLab(c.dir), {
    src: t.src,
    dst: t.dst,
    protocol: t.protocol,
    dstPort: t.dstPort,
    ...(c.srcPort === undefined ? {} : { srcPort: c.srcPort }),
    ...(t.family === undefined ? {} : { family: t.family }),
  });
  return ok(c.output === "text" ? probeText(r) : renderDocument(versioned("LabProbe", r), c.output));
}

export async function labDownCommand(dir: string): Promise<CommandResult> {
  const l = labLayout(dir);
  if (!existsSync(l.stateFile) && !existsSync(l.lockFile))
    throw new LabStateError(`no lab in ${dir}: nothing to stop`, {
      hint: "give the lab's directory with --dir (lab status --dir DIR shows one)",
    });
  const t = performance.now();
  const n = await labDown(dir);
  return ok(
    `stopped ${String(n)} daemons in ${String(Math.round(performance.now() - t))} ms; removed ${dir}`,
  );
}
