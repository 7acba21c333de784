import type { Command } from "commander";
import { InputError } from "../errors.js";
import { outputFormat } from "./formats.js";
import { processIO, type Run } from "./io.js";
import { number } from "./packet-flags.js";

interface WhatIfFlags {
  lab?: string | boolean;
  allow?: string[];
  policy?: string;
  namespaces?: string[];
  port?: string[];
  keep?: boolean;
  parallel?: string;
  output: string;
}

const collect = (v: string, previous: string[] | undefined): string[] => [...(previous ?? []), v];

/** `ovnkube-trace what-if`: a NetworkPolicy change proposed or given, tried on the lab, with what it flips. */
export function registerWhatIfCommand(program: Command, run: Run): void {
  program
    .command("what-if")
    .description(
      "on the lab: the smallest NetworkPolicy change that allows a dropped connection (or a given policy), applied, proven by the matrix before and after (the cells it flips), then removed again",
    )
    .option("--lab [DIR]", "the lab to try it on (required: what-if writes the lab's OVN databases)")
    .option(
      "--allow <PODS...>",
      "SRC_NS/POD DST_NS/POD: propose the change that lets SRC reach DST on the first --port",
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
      "\nLab only: what-if writes the change into the lab's NB databases as ovnkube-controller would (port groups,\n" +
        "address sets, ACLs) and into its kubernetes.json. A live cluster is never written; a snapshot's replica is\n" +
        "not supported. With --allow the change is a rule added to the policy (of fewest pods) that isolates the\n" +
        "side that drops the connection: an ingress rule of the receiver's, or an egress rule of the sender's, that\n" +
        "allows the other pod by its distinguishing labels (and its namespace's name when it is in another one) on\n" +
        "that port; printed as the whole policy, ready for kubectl apply. Destinations are pods, not Services.\n" +
        "Examples:\n" +
        "  ovnkube-trace what-if --lab --allow shop/debug api/users-9d7c-a1 --port tcp/8080\n" +
        "  ovnkube-trace what-if --lab --policy allow-debug.yaml --namespaces shop,api --port tcp/8080,udp/53 --keep",
    )
    .action(async (f: WhatIfFlags) => {
      if (f.lab === undefined || f.lab === false)
        throw new InputError("what-if runs on the lab only: give --lab [DIR]", {
          hint: "it writes the OVN databases: never a live cluster",
        });
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
            lab: f.lab === true ? true : f.lab,
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
