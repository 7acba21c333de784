import type { Command } from "commander";
import { DEFAULT_LAB_DIR, DEFAULT_SCENARIO, labDirOf } from "../app/open-backend.js";
import { InputError } from "../errors.js";
import { outputFormat } from "./formats.js";
import { processIO, type Run } from "./io.js";
import { addPacketOptions, number, packetTarget, type PacketFlags } from "./packet-flags.js";

const dirOpt = (c: Command): Command =>
  c.option("--dir <DIR>", `lab directory (default $OVNKUBE_TRACE_LAB_DIR or ${DEFAULT_LAB_DIR})`);

export function registerLabCommands(program: Command, run: Run): void {
  const lab = program
    .command("lab")
    .description(
      "the built-in lab: a real ovn-kubernetes-shaped OVN cluster on this machine (no containers)",
    );
  const app = () => import("../app/lab.js");

  dirOpt(
    lab
      .command("up")
      .description(
        "start the lab from a scenario file, or a generated one of any size (--scale); a no-op if the same lab is already running",
      )
      .option("--scenario <FILE>", "scenario YAML or JSON (docs/scenario.md)", DEFAULT_SCENARIO)
      .option("--shape <SHAPE>", "central | interconnect (overrides the scenario's shape)")
      .option(
        "--scale <NODES>",
        "instead of a scenario file, a generated cluster of NODES nodes: 40 pods, 10 services and 6 network policies a node (docs/scenario.md)",
      )
      .option("--pods <N>", "with --scale: pods in all (not a node)")
      .option("--services <N>", "with --scale: services in all")
      .option("--policies <N>", "with --scale: network policies in all")
      .option("-o, --output <FORMAT>", "text | json | yaml"),
  ).action(async (o: LabUpFlags) => {
    const output = outputFormat(o.output);
    await run(
      (await app()).labUpCommand(
        {
          scenario: o.scenario,
          ...(o.shape === undefined ? {} : { shape: o.shape }),
          ...scaleOf(o),
          dir: labDirOf(o.dir),
          dirGiven: o.dir !== undefined,
          output,
        },
        processIO(),
      ),
    );
  });

  dirOpt(
    lab
      .command("status")
      .description("show the lab's nodes, pods and daemons")
      .option("-o, --output <FORMAT>", "text | json | yaml"),
  ).action(async (o: { dir?: string; output?: string }) => {
    const output = outputFormat(o.output);
    await run((await app()).labStatusCommand(labDirOf(o.dir), output));
  });

  dirOpt(
    lab
      .command("env")
      .argument("<NODE>", "node name")
      .description(
        "print the environment for running ovs-vsctl, ovs-appctl, ovn-nbctl, ovn-trace... on a node by hand",
      ),
  ).action(async (node: string, o: { dir?: string }) => {
    await run((await app()).labEnvCommand(labDirOf(o.dir), node));
  });

  registerProbe(lab, run);

  dirOpt(
    lab.command("down").description("stop every lab daemon (by pid) and remove the lab directory"),
  ).action(async (o: { dir?: string }) => {
    await run((await app()).labDownCommand(labDirOf(o.dir)));
  });
}

interface LabUpFlags {
  scenario: string;
  shape?: string;
  scale?: string;
  pods?: string;
  services?: string;
  policies?: string;
  dir?: string;
  output?: string;
}

/** `--scale NODES [--pods N --services N --policies N]`: the generated scenario's sizes. */
function scaleOf(o: LabUpFlags): {
  scale?: { nodes: number; pods?: number; services?: number; policies?: number };
} {
  const count = (v: string | undefined, flag: string, min: number, max: number): number | undefined =>
    v === undefined ? undefined : number(v, flag, min, max);
  if (o.scale === undefined) {
    const stray = (["pods", "services", "policies"] as const).find((k) => o[k] !== undefined);
    if (stray !== undefined) throw new InputError(`--${stray} needs --scale NODES`);
    return {};
  }
  const pods = count(o.pods, "--pods", 0, 1_000_000);
  const services = count(o.services, "--services", 0, 1_000_000);
  const policies = count(o.policies, "--policies", 0, 1_000_000);
  return {
    scale: {
      nodes: number(o.scale, "--scale", 1, 256),
      ...(pods === undefined ? {} : { pods }),
      ...(services === undefined ? {} : { services }),
      ...(policies === undefined ? {} : { policies }),
    },
  };
}

/** `lab probe`: a real packet, where it arrived. */
function registerProbe(lab: Command, run: Run): void {
  dirOpt(
    addPacketOptions(
      lab
        .command("probe")
        .description(
          "inject a real packet at a pod's port (-src), or at a node's uplink from outside (-src-ip, -src-node), and report where it arrived (ground truth)",
        ),
      "default",
    )
      .option("--src-port <PORT>", "source port (default: a fresh one per probe)")
      .option("-o, --output <FORMAT>", "text | json | yaml"),
  ).action(async (o: PacketFlags & { dir?: string; srcPort?: string; output?: string }) => {
    const output = outputFormat(o.output);
    const target = packetTarget(o, "tcp");
    const srcPort = o.srcPort === undefined ? undefined : number(o.srcPort, "--src-port", 1, 65535);
    await run(
      (await import("../app/lab.js")).labProbeCommand({
        dir: labDirOf(o.dir),
        target,
        ...(srcPort === undefined ? {} : { srcPort }),
        output,
      }),
    );
  });
}

export function registerDemoCommand(program: Command, run: Run): void {
  program
    .command("demo")
    .description(
      "bring the lab up, trace a pod to a pod on another node, check it against a real packet, tear down",
    )
    .option("--scenario <FILE>", "scenario YAML or JSON", DEFAULT_SCENARIO)
    .option("--shape <SHAPE>", "central | interconnect")
    .option("--keep", "leave the lab running afterwards")
    .option("-o, --output <FORMAT>", "text | json | yaml (the trace reports: schema/trace-run.schema.json)")
    .action(async (o: { scenario: string; shape?: string; keep?: boolean; output?: string }) => {
      const output = outputFormat(o.output);
      const { demoCommand } = await import("../app/demo.js");
      await run(
        demoCommand(
          {
            scenario: o.scenario,
            ...(o.shape === undefined ? {} : { shape: o.shape }),
            keep: o.keep === true,
            output,
          },
          processIO(),
        ),
      );
    });
}
