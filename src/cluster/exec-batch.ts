import type { ClusterBackend, ExecResult, NodeExecOptions } from "./backend.js";

/**
 * Several read-only commands in one exec on a node (one round trip through the API server on a live cluster,
 * one process start on the lab), each with its own output and exit status. The commands are the tool's own
 * shell lines (see `shellLine` for argv): never text a user typed.
 */

/** argv as one shell word each, single-quoted. */
export function shellLine(argv: readonly string[]): string {
  return argv.map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replaceAll("'", `'\\''`)}'`)).join(" ");
}

/**
 * Runs `lines` one after another in one `sh -c` on `node`; the results are in the order of `lines`. Every line
 * runs even if one before it failed. What the lines wrote to stderr is not told apart: a failed line's result
 * carries all of it.
 */
export async function execBatch(
  b: ClusterBackend,
  node: string,
  lines: readonly string[],
  options: NodeExecOptions = {},
): Promise<ExecResult[]> {
  // fixed, so the same batch is the same command each run (no OVS/OVN output has such a line)
  const marker = "@@ovnkube-trace-batch";
  // each section ends with a newline of ours and the marker line with the exit status
  const script = lines.map((l) => `{ ${l}\n}; printf '\\n${marker} %d\\n' "$?"`).join("\n");
  const r = await b.execOnNode(node, ["sh", "-c", script], options);
  const sections = r.stdout.split(new RegExp(`\\n${marker} (\\d+)\\n`));
  return lines.map((line, i): ExecResult => {
    const out = sections[2 * i];
    const status = sections[2 * i + 1];
    const ran = out !== undefined && status !== undefined;
    const exitCode = ran ? Number(status) : r.exitCode === 0 ? 1 : r.exitCode;
    return {
      argv: ["sh", "-c", line],
      exitCode,
      stdout: ran ? out : "",
      stderr: exitCode === 0 ? "" : r.stderr || (ran ? "" : "the batch stopped before this command"),
      timedOut: r.timedOut,
      durationMs: r.durationMs,
    };
  });
}
