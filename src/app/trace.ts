import { resolveTarget } from "../engine/resolve.js";
import { runTraces } from "../engine/trace.js";
import { dumpUdnVrfTableIds, formatUdnVrfTableIds } from "../engine/udn.js";
import type { TraceTarget } from "../model/target.js";
import { firstFailure, renderGoText } from "../render/go-text.js";
import { resolutionText } from "../render/resolution-text.js";
import type { CommandIO, CommandResult } from "./command.js";
import { withBackend, type ClusterChoice } from "./open-backend.js";

/** The Go ovnkube-trace's job: resolve the target, trace both directions on every node, report. */
export interface TraceCommand {
  readonly cluster: ClusterChoice;
  readonly target: TraceTarget;
  /** 0: verdict lines; 2: + tool outputs; 4: + command lines; 5: + resolution details. */
  readonly loglevel: number;
  readonly output: "text" | "json";
  readonly skipDetrace: boolean;
  readonly allBackends: boolean;
  /** Bounds every API call and exec. */
  readonly timeoutMs: number;
}

export async function traceCommand(c: TraceCommand, io: CommandIO): Promise<CommandResult> {
  return withBackend(c.cluster, c.timeoutMs, async (b) => {
    const resolution = await resolveTarget(b, c.target);
    if (c.loglevel >= 5) io.note(resolutionText(resolution));
    const reports = await runTraces(b, resolution, {
      skipDetrace: c.skipDetrace,
      allBackends: c.allBackends,
    });
    const output =
      c.output === "json"
        ? JSON.stringify(reports, null, 2)
        : renderGoText(reports, { loglevel: c.loglevel, color: io.color });
    const failed = firstFailure(reports);
    return failed === undefined
      ? { output }
      : { output, failure: `${failed.check.tool} (${failed.direction}): ${failed.check.detail}` };
  });
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
