import type { Command } from "commander";
import { InputError } from "../errors.js";
import { outputFormat } from "./formats.js";
import { processIO, type Run } from "./io.js";
import { number } from "./packet-flags.js";

interface WhatIfFlags {
  lab?: string | boolean;
  snapshot?: string;
  allow?: string[];
  policy?: string;
  namespaces?: string[];
  port?: string[];
  keep?: boolean;
  parallel?: string;
  output: string;
}

const collect = (v: string, previous: string[] | undefined): string[] => [...(previous ?? []), v];

/** `ovnkube-trace what-if`: a NetworkPolicy change proposed or given, tried on the lab or a snapshot, with what it flips. */
export function registerWhatIfCommand(program: Command, run: Run): void {
  program
    .command("what-if")
    .description(
      "on the lab or a snapshot's replica: the smallest NetworkPolicy change that allows a dropped connection (or a given policy), applied, proven by the matrix before and after (the cells it flips), then removed again",
    )
    .option("--lab [DIR]", "the lab to try it on (what-if writes the lab's OVN databases)")
    .option(
      "--snapshot <DIR>",
      "a snapshot to try it on: a what-if replica of its databases (the snapshot is not changed); how a live cluster gets a what-if",
    )
    .option(
      "--allow <PODS...>",
      "SRC_NS/POD DST_NS/POD (or svc:NS/NAME): propose the change that lets SRC reach DST on the first --port",
    )
    .option(
      "--policy <FILE>",
      "a NetworkPolicy manifest (YAML or JSON) to try as given (replaces one of the same name)",
    )
    .option(
      "--namespaces <NS>",
      "namespaces of the matrix before and after, comma-separated (default: those of the two pods; with --policy every namespace with pods)",
      collect,
    )
    .option(
      "--port <PORTS>",
      "ports: tcp/80, udp/53, icmp, comma-separated and repeatable (required; --allow: the first)",
      collect,
    )
    .option("--keep", "leave the change applied to the lab")
    .option("--parallel <N>", "cells traced at the same time", "8")
    .option("-o, --output <FORMAT>", "text | json | yaml", "text")
    .addHelpText(
      "after",
      "\nOn the lab, what-if writes the change into the lab's NB databases as ovnkube-controller would (port groups,\n" +
        "address sets, ACLs) and into its kubernetes.json. On a snapshot it writes them into copies of the snapshot's\n" +
        "NB databases, which this machine's ovn-northd turns into logical flows, and traces them with ovn-trace\n" +
        "(logical verdicts: OpenFlow is not recomputed); the copies are removed after. A live cluster is never\n" +
        "written: collect a snapshot of it (ovnkube-trace snapshot collect --cluster --out DIR), then what-if on it\n" +
        "with --snapshot DIR. With --allow the change is a rule added to the policy (of fewest pods) that isolates the\n" +
        "side that drops the connection: an ingress rule of the receiver's, or an egress rule of the sender's, that\n" +
        "allows the other pod by its distinguishing labels (and its namespace's name when it is in another one) on\n" +
        "that port; printed as the whole policy, ready for kubectl apply. A destination svc:NS/NAME is a Service:\n" +
        "the port is its port, and the rule allows its backends (each that drops it) on its target port.\n" +
        "Examples:\n" +
        "  ovnkube-trace what-if --lab --allow shop/debug api/users-9d7c-a1 --port tcp/8080\n" +
        "  ovnkube-trace what-if --lab --policy allow-debug.yaml --namespaces shop,api --port tcp/8080,udp/53 --keep\n" +
        "  ovnkube-trace what-if --snapshot ./snap --allow shop/debug api/users-9d7c-a1 --port tcp/8080\n" +
        "  ovnkube-trace what-if --snapshot ./snap --allow shop/debug svc:data/postgres --port tcp/5432",
    )
    .action(async (f: WhatIfFlags) => {
      const lab = f.lab !== undefined && f.lab !== false;
      if (lab === (f.snapshot !== undefined))
        throw new InputError("what-if runs on the lab or on a snapshot: give --lab [DIR] or --snapshot DIR", {
          hint: "a live cluster is never written: collect a snapshot of it (ovnkube-trace snapshot collect --cluster --out DIR), then what-if --snapshot DIR",
        });
      if (f.keep === true && !lab)
        throw new InputError("--keep is for the lab: a what-if never changes a snapshot");
      if (f.allow !== undefined && f.allow.length !== 2)
        throw new InputError("--allow takes two pods: SRC_NS/POD DST_NS/POD");
      const ports = f.port ?? [];
      if (ports.length === 0) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
      const output = outputFormat(f.output);
      const parallel = number(f.parallel ?? "8", "--parallel", 1, 256);
      const { whatIfCommand } = await import("../app/what-if.js");
      const [src, dst] = f.allow ?? [];
      await run(
        whatIfCommand(
          {
            ...(f.snapshot === undefined ? {} : { snapshot: f.snapshot }),
            ...(lab ? { lab: typeof f.lab === "string" ? f.lab : true } : {}),
            ...(src !== undefined && dst !== undefined ? { allow: { src, dst } } : {}),
            ...(f.policy === undefined ? {} : { policyFile: f.policy }),
            namespaces: f.namespaces ?? [],
            ports,
            keep: f.keep === true,
            parallel,
            output,
          },
          processIO(),
        ),
      );
    });
}
