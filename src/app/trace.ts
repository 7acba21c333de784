import { resolveTarget } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import { dumpUdnVrfTableIds, formatUdnVrfTableIds } from "../engine/udn.js";
import { recordingCommands } from "../cluster/recorded-backend.js";
import { commandsText, renderDocument, traceRunDocument } from "../render/document.js";
import { firstFailure, renderGoText } from "../render/go-text.js";
import type { TraceReport } from "../model/report.js";
import { resolutionText } from "../render/resolution-text.js";
import { renderTraceRunHtml } from "../render/html/trace-report.js";
import type { CommandIO, CommandResult, PageFormat } from "./command.js";
import { withBackend, type ClusterChoice } from "./open-backend.js";
import { completeTarget, type TargetRequest } from "./target-request.js";

/** The Go ovnkube-trace's job: resolve the target, trace both directions on every node, report. */
export interface TraceCommand {
  readonly cluster: ClusterChoice;
  /** Names without a namespace take the cluster's default namespace (the kubeconfig context's). */
  readonly target: TargetRequest;
  /** 0: verdict lines; 2: + tool outputs; 4: + command lines; 5: + resolution details. */
  readonly loglevel: number;
  /** text, json, yaml, or html (a self-contained page, with every raw tool output in it). */
  readonly output: PageFormat;
  /** Also write the HTML page to this file (beside the output of `output`). */
  readonly htmlFile?: string;
  /** Keep every hop's raw tool output in the JSON/YAML document (always at loglevel 2 and above). */
  readonly includeRaw: boolean;
  readonly skipDetrace: boolean;
  readonly allBackends: boolean;
  /** Only the Go tool's lines in the text output (scripts that compare whole outputs). */
  readonly goOnly?: boolean;
  /** The source port of the traced packet (a real connection's); the planner's default otherwise. */
  readonly srcPort?: number;
  /** Bounds every API call and exec. */
  readonly timeoutMs: number;
}

export async function traceCommand(c: TraceCommand, io: CommandIO): Promise<CommandResult> {
  return withBackend(c.cluster, c.timeoutMs, async (cb, cluster) => {
    const { backend: b, commands } = recordingCommands(cb);
    const resolution = await resolveTarget(b, completeTarget(c.target, cluster.defaultNamespace));
    if (c.loglevel >= 5) io.note(resolutionText(resolution));
    const reports = await runTraces(b, resolution, {
      skipDetrace: c.skipDetrace,
      allBackends: c.allBackends,
      ...(c.srcPort === undefined ? {} : { srcPort: c.srcPort }),
    });
    if (c.loglevel >= 5) io.note(commandsText(commands));
    // the page always carries the tools' raw outputs (in closed sections)
    const page =
      c.output === "html" || c.htmlFile !== undefined
        ? await renderTraceRunHtml(traceRunDocument(reports, true, commands))
        : undefined;
    const output =
      c.output === "text"
        ? renderGoText(reports, { loglevel: c.loglevel, color: io.color, goOnly: c.goOnly === true })
        : c.output === "html"
          ? (page ?? "")
          : renderDocument(traceRunDocument(reports, c.includeRaw || c.loglevel >= 2, commands), c.output);
    const failed = firstFailure(reports);
    const unknown = firstUnknown(reports);
    return {
      output,
      ...(c.htmlFile === undefined || page === undefined
        ? {}
        : { files: [{ path: c.htmlFile, content: page }] }),
      ...(failed === undefined
        ? {}
        : { failure: `${failed.check.tool} (${failed.direction}): ${failed.check.detail}` }),
      ...(unknown === undefined ? {} : { unknown }),
    };
  });
}

/** The first verdict the traces could not establish, and why. */
function firstUnknown(reports: readonly TraceReport[]): string | undefined {
  for (const r of reports)
    for (const [d, direction] of [
      [r.forward, "forward"],
      [r.reply, "reply"],
    ] as const)
      if (d?.verdict.kind === "unknown") return `${direction}: ${d.verdict.reason}`;
  return undefined;
}

/** `-dump-udn-vrf-table-ids`: the VRF table id of every user-defined network on every node, as JSON. */
export async function udnVrfTableIdsCommand(
  cluster: ClusterChoice,
  timeoutMs: number,
): Promise<CommandResult> {
  return withBackend(cluster, timeoutMs, async (b) => ({
    output: formatUdnVrfTableIds(await dumpUdnVrfTableIds(b)),
  }));
}
