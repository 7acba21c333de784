import type { Command } from "commander";
import { InputError } from "../errors.js";
import { addClusterOptions, clusterChoice, type ClusterFlags } from "./cluster-options.js";
import { duration, pageFormat } from "./formats.js";
import { processIO, type Run } from "./io.js";
import { number } from "./packet-flags.js";

interface MatrixFlags extends ClusterFlags {
  namespace?: string[];
  allNamespaces?: boolean;
  fromNamespace?: string[];
  fromSelector?: string;
  toNamespace?: string[];
  toSelector?: string;
  services?: boolean;
  port?: string[];
  addrFamily?: string;
  srcPort?: string;
  openflow?: boolean;
  parallel?: string;
  output: string;
  timeout: string;
  color: boolean;
}

/** A repeatable flag's values (no default: commander would print it in the help). */
const collect = (v: string, previous: string[] | undefined): string[] => [...(previous ?? []), v];

/**
 * `ovnkube-trace matrix`: the reachability matrix of pods chosen by namespace and label selector (and the
 * Services of the destination namespaces) on a few ports, each cell from OVN's logical pipeline.
 */
export function registerMatrixCommand(program: Command, run: Run): void {
  const matrix = program
    .command("matrix")
    .description(
      "who can reach whom: for pods chosen by namespace and label selector, on each port, whether the first packet of a connection is allowed, dropped (by which NetworkPolicy) or rejected, from OVN's logical pipeline",
    )
    .option(
      "--port <PORTS>",
      "ports to test, comma-separated and repeatable: tcp/80, udp/53, icmp (required)",
      collect,
    )
    .option(
      "-n, --namespace <NS>",
      "namespaces of both ends, comma-separated (default: the kubeconfig context's namespace, else default)",
      collect,
    )
    .option("-A, --all-namespaces", "every namespace, for both ends")
    .option("--from-namespace <NS>", "namespaces of the source pods, comma-separated (default: -n)", collect)
    .option("--from-selector <SELECTOR>", "label selector of the source pods (app=web,tier in (a,b),!canary)")
    .option(
      "--to-namespace <NS>",
      "namespaces of the destination pods, comma-separated (default: those of the sources)",
      collect,
    )
    .option("--to-selector <SELECTOR>", "label selector of the destination pods")
    .option(
      "--services",
      "also the Services of the destination namespaces (their cluster IP), on the ports given that they expose; each backend traced",
    )
    .option("--addr-family <FAMILY>", "ip4 | ip6 (default: the first source pod's first IP)")
    .option("--src-port <PORT>", "source port of every traced packet, default 52888")
    .option(
      "--openflow",
      "also run the full trace (ofproto/trace on every node the packet crosses) of every cell and mark where it disagrees (slow)",
    )
    .option("--parallel <N>", "cells traced at the same time", "8")
    .option(
      "-o, --output <FORMAT>",
      "text | json | yaml | html (json, yaml: one document, schema/matrix.schema.json: every cell with its explanation and deciding objects; html: a heat map, each cell's reason on hover)",
      "text",
    )
    .option(
      "--timeout <DURATION>",
      "timeout of every exec and API call: 30s, 1m, 500ms (a plain number is milliseconds)",
      "30s",
    )
    .option("--no-color", "no colours in the text output (also: the NO_COLOR environment variable)");
  addClusterOptions(matrix)
    .addHelpText(
      "after",
      "\nSources are the pods of the source namespaces that match --from-selector (host-network pods, which\n" +
        "NetworkPolicies do not select, are left out and listed); destinations the same with --to-*, then with\n" +
        "--services the Services of the destination namespaces. Each cell is the first packet of a connection\n" +
        "(conntrack new) traced by ovn-trace in the source's zone and, on an interconnect cluster, the destination's;\n" +
        "a Service's cell traces each backend (--lb-dst). Marks: ✓ allowed, ✗ dropped, R rejected, ~ a Service's\n" +
        "backends differ, ? unknown, = the pod itself (not traced), · the Service has no such port. Below the grid,\n" +
        "the cells grouped by what decided them: the NetworkPolicies of a default deny or of the rules that allowed.\n" +
        "Exit status: 0 when the matrix was computed (whatever its cells say); else as the trace command.\n" +
        "Examples:\n" +
        "  ovnkube-trace matrix -n shop,api --port tcp/8080,udp/53\n" +
        "  ovnkube-trace matrix --from-namespace shop --from-selector app=frontend --to-namespace api --services --port tcp/80\n" +
        "  ovnkube-trace matrix --lab --from-namespace shop,api,data --port tcp/8080,tcp/5432,udp/53 -o json\n" +
        "  ovnkube-trace matrix --snapshot snap/ -A --port tcp/443 --openflow",
    )
    .action(async (f: MatrixFlags) => {
      const ports = f.port ?? [];
      if (ports.length === 0) throw new InputError("give at least one --port (tcp/80, udp/53, icmp)");
      if (f.addrFamily !== undefined && f.addrFamily !== "ip4" && f.addrFamily !== "ip6")
        throw new InputError(`--addr-family must be ip4 or ip6, not "${f.addrFamily}"`);
      const output = pageFormat(f.output);
      const timeoutMs = duration(f.timeout, "--timeout", 100, 3_600_000);
      const parallel = number(f.parallel ?? "8", "--parallel", 1, 256);
      const { matrixCommand } = await import("../app/matrix.js");
      await run(
        matrixCommand(
          {
            cluster: clusterChoice(f),
            fromNamespaces: f.fromNamespace ?? f.namespace ?? [],
            fromSelector: f.fromSelector ?? "",
            toNamespaces: f.toNamespace ?? f.namespace ?? [],
            toSelector: f.toSelector ?? "",
            allNamespaces: f.allNamespaces === true,
            services: f.services === true,
            ports,
            ...(f.addrFamily === undefined ? {} : { family: f.addrFamily === "ip6" ? 6 : 4 }),
            ...(f.srcPort === undefined ? {} : { srcPort: number(f.srcPort, "--src-port", 1, 65535) }),
            openflow: f.openflow === true,
            parallel,
            output,
            timeoutMs,
          },
          processIO({ color: f.color }),
        ),
      );
    });
}
