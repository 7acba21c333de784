import { readFileSync } from "node:fs";
import type { Command } from "commander";
import { KubeBackend } from "../cluster/kube/backend.js";
import { LabBackend } from "../cluster/lab/backend.js";
import type { ClusterBackend } from "../cluster/backend.js";
import { ovnDatabases } from "../engine/ovn-dbs.js";
import { InputError } from "../errors.js";
import { detrace } from "../explain/detrace.js";
import { DEFAULT_LAB_DIR } from "../lab/lab.js";
import { looksLikeOfprotoTrace } from "../parsers/ofproto-trace.js";

/** `ovnkube-trace explain`: annotate a pasted ofproto/trace as ovn-detrace does, natively, from a node's zone DBs. */
export function registerExplainCommand(program: Command): void {
  program
    .command("explain")
    .description(
      "annotate an ofproto/trace output (as ovn-detrace does, natively) with the OVN databases of a node's zone",
    )
    .argument("[FILE]", "the ofproto/trace output, - for standard input", "-")
    .requiredOption("--node <NODE>", "the node the trace was taken on (its zone's NB/SB are read)")
    .option("--kubeconfig <FILE>", "kubeconfig (default $KUBECONFIG, then ~/.kube/config)")
    .option("--context <NAME>", "kubeconfig context")
    .option("--ovn-config-namespace <NS>", "namespace of the ovnkube-node pods")
    .option("--lab [DIR]", `read the databases of the built-in lab (default dir ${DEFAULT_LAB_DIR})`)
    .action(
      async (
        file: string,
        o: {
          node: string;
          kubeconfig?: string;
          context?: string;
          ovnConfigNamespace?: string;
          lab?: string | boolean;
        },
      ) => {
        if (file === "-" && process.stdin.isTTY)
          throw new InputError("give a FILE, or pipe the trace into standard input");
        let text: string;
        try {
          text = readFileSync(file === "-" ? 0 : file, "utf8");
        } catch (e) {
          throw new InputError(`cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
        }
        if (!looksLikeOfprotoTrace(text))
          throw new InputError("explain reads ofproto/trace output (ovs-appctl ofproto/trace ...)");
        const b: ClusterBackend =
          o.lab !== undefined && o.lab !== false
            ? LabBackend.open(
                typeof o.lab === "string" ? o.lab : (process.env.OVNKUBE_TRACE_LAB_DIR ?? DEFAULT_LAB_DIR),
              )
            : new KubeBackend({
                ...(o.kubeconfig === undefined ? {} : { kubeconfig: o.kubeconfig }),
                ...(o.context === undefined ? {} : { context: o.context }),
                ...(o.ovnConfigNamespace === undefined ? {} : { ovnNamespace: o.ovnConfigNamespace }),
              });
        try {
          process.stdout.write(detrace(text, await ovnDatabases(b, new Map(), o.node)));
        } finally {
          await b.close();
        }
      },
    );
}
