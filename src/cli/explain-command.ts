import type { Command } from "commander";
import { InputError } from "../errors.js";
import type { Run } from "./io.js";
import { duration } from "./formats.js";
import { addClusterOptions, clusterChoice, type ClusterFlags } from "./cluster-options.js";

/**
 * `ovnkube-trace explain`: a pasted ofproto/trace or ovn-trace explained from the node's zone DBs and OVS: a
 * summary, every number decoded into OVN and Kubernetes names, ovn-detrace's annotations (natively), or exactly
 * what ovn-detrace prints (`--format detrace`).
 */
export function registerExplainCommand(program: Command, run: Run): void {
  const explain = program
    .command("explain")
    .description(
      "explain an ofproto/trace or ovn-trace output with the OVN databases of a node's zone: a summary, every hex value named (OVN and Kubernetes objects), ovn-detrace's annotations",
    )
    .argument("[FILE]", "the ofproto/trace or ovn-trace output, - for standard input", "-")
    .option(
      "--format <FORMAT>",
      "decoded (summary + annotations + decoded values) | detrace (ovn-detrace's output)",
      "decoded",
    )
    .option(
      "-o, --output <FORMAT>",
      "text | json | yaml | html (the decoded explanation; html: a self-contained page with the path drawn and ovn-detrace's output)",
      "text",
    )
    .option(
      "--html <FILE>",
      "also write the explanation as a self-contained HTML page to FILE, beside the -o output",
    )
    .requiredOption("--node <NODE>", "the node the trace was taken on (its zone's NB/SB are read)")
    .option(
      "--timeout <DURATION>",
      "timeout of every exec and API call: 30s, 1m, 500ms (a plain number is milliseconds)",
      "30s",
    );
  addClusterOptions(explain).action(
    async (
      file: string,
      o: ClusterFlags & { node: string; format: string; output: string; html?: string; timeout: string },
    ) => {
      if (file === "-" && process.stdin.isTTY)
        throw new InputError("give a FILE, or pipe the trace into standard input");
      const timeoutMs = duration(o.timeout, "--timeout", 100, 3_600_000);
      const { explainCommand } = await import("../app/explain.js");
      await run(explainCommand(file, o, clusterChoice(o), timeoutMs));
    },
  );
}
