import type { ClusterBackend } from "../cluster/backend.js";
import { computeMatrix } from "../engine/matrix.js";
import { parseNamespaces, parsePorts, parseSelector } from "../engine/matrix-select.js";
import { InputError, NotFoundError } from "../errors.js";
import type { Family } from "../model/report.js";
import { renderDocument } from "../render/document.js";
import { renderMatrixText } from "../render/matrix-text.js";
import { renderMatrixHtml } from "../render/html/matrix-report.js";
import type { CommandIO, CommandResult, PageFormat } from "./command.js";
import { openCluster, type ClusterChoice } from "./open-backend.js";

/** `ovnkube-trace matrix`: who can reach whom, for pods chosen by namespace and label selector, on some ports. */
export interface MatrixCommand {
  readonly cluster: ClusterChoice;
  /** Namespaces of the sources (`--from-namespace`, else `-n`, else the cluster's default namespace). */
  readonly fromNamespaces: readonly string[];
  readonly fromSelector: string;
  /** Namespaces of the destinations (`--to-namespace`, else those of the sources). */
  readonly toNamespaces: readonly string[];
  readonly toSelector: string;
  /** Every namespace, for both ends (-A). */
  readonly allNamespaces: boolean;
  /** Also the Services of the destination namespaces, on the ports they expose. */
  readonly services: boolean;
  /** `--port` values as given (`tcp/80,udp/53`, `icmp`). */
  readonly ports: readonly string[];
  readonly family?: Family;
  readonly srcPort?: number;
  readonly openflow: boolean;
  readonly parallel?: number;
  /** text, json, yaml, or html (a heat map, the reason of each cell on hover). */
  readonly output: PageFormat;
  readonly timeoutMs: number;
}

async function namespaceExists(b: ClusterBackend, namespace: string): Promise<void> {
  try {
    await b.readNamespace(namespace);
  } catch (e) {
    if (e instanceof NotFoundError)
      throw new NotFoundError(`namespace "${namespace}" not found`, { hint: "kubectl get namespaces" });
    throw e;
  }
}

export async function matrixCommand(c: MatrixCommand, io: CommandIO): Promise<CommandResult> {
  const ports = parsePorts(c.ports);
  const from = parseNamespaces(c.fromNamespaces, "--from-namespace");
  const to = parseNamespaces(c.toNamespaces, "--to-namespace");
  parseSelector(c.fromSelector, "--from-selector");
  parseSelector(c.toSelector, "--to-selector");
  if (c.allNamespaces && (from.length > 0 || to.length > 0))
    throw new InputError("give -A (every namespace) or namespaces, not both");
  // thousands of traces of a few zones: a few ovn-trace daemons answer them, without a process each
  const { backend, context } = await openCluster({ ...c.cluster, ovnTraceDaemons: "always" }, c.timeoutMs);
  try {
    const everyNamespace = c.allNamespaces
      ? (await backend.listNamespaces()).map((n) => n.metadata?.name ?? "").filter((n) => n !== "")
      : [];
    const fromNamespaces = c.allNamespaces
      ? everyNamespace
      : from.length > 0
        ? from
        : [context.defaultNamespace];
    const toNamespaces = c.allNamespaces ? everyNamespace : to.length > 0 ? to : fromNamespaces;
    // a namespace that does not exist is a mistake, not an empty row or column
    await Promise.all(
      [...new Set([...fromNamespaces, ...toNamespaces])].map((ns) => namespaceExists(backend, ns)),
    );
    let last = 0;
    const m = await computeMatrix(backend, {
      from: { namespaces: fromNamespaces, selector: c.fromSelector },
      to: { namespaces: toNamespaces, selector: c.toSelector, services: c.services },
      ports,
      ...(c.family === undefined ? {} : { family: c.family }),
      ...(c.srcPort === undefined ? {} : { srcPort: c.srcPort }),
      openflow: c.openflow,
      ...(c.parallel === undefined ? {} : { parallel: c.parallel }),
      progress: (done, total) => {
        const now = performance.now();
        if (now - last < 1000 && done < total) return;
        last = now;
        io.progress(`matrix: ${String(done)} of ${String(total)} cells`);
      },
    });
    return {
      output:
        c.output === "text"
          ? renderMatrixText(m, { color: io.color })
          : c.output === "html"
            ? renderMatrixHtml(m)
            : renderDocument(m, c.output),
    };
  } finally {
    await backend.close();
  }
}
