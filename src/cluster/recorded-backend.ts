import type { ClusterBackend, ExecResult } from "./backend.js";

/** One command a run had a node run (or an ovn-trace daemon answer), as it ended. */
export interface RecordedCommand {
  readonly node: string;
  readonly argv: readonly string[];
  readonly exitCode: number;
  readonly durationMs: number;
  /** Absent: a process on the node (an exec through the API server on a live cluster). */
  readonly servedBy?: string;
}

/**
 * The backend, recording every command run through it: what a run cost the cluster (execs per trace) and what
 * `-loglevel 5` lists. The one-shot path of ovnTrace goes through execOnNode and is recorded there once.
 */
export function recordingCommands(b: ClusterBackend): {
  backend: ClusterBackend;
  commands: RecordedCommand[];
} {
  const commands: RecordedCommand[] = [];
  const record = (node: string, r: ExecResult): ExecResult => {
    commands.push({
      node,
      argv: r.argv,
      exitCode: r.exitCode,
      durationMs: r.durationMs,
      ...(r.servedBy === undefined ? {} : { servedBy: r.servedBy }),
    });
    return r;
  };
  const backend: ClusterBackend = new Proxy(b, {
    get(target, prop, receiver) {
      const value: unknown = Reflect.get(target, prop, receiver);
      if (typeof value !== "function") return value;
      const f = value as (...args: unknown[]) => unknown;
      if (prop === "execOnNode")
        return async (node: string, ...rest: unknown[]) =>
          record(node, (await f.apply(receiver, [node, ...rest])) as ExecResult);
      if (prop === "ovnTrace")
        return async (node: string, ...rest: unknown[]) => {
          const r = (await f.apply(receiver, [node, ...rest])) as ExecResult;
          return r.servedBy === undefined ? r : record(node, r);
        };
      return f.bind(target);
    },
  });
  return { backend, commands };
}
