/**
 * What to undo if the process is interrupted (SIGINT, SIGTERM) in the middle of starting daemons: each long
 * step that starts daemons registers how to stop them, for as long as it runs. cli/ installs the signal
 * handlers, runs every registered cleanup, then exits; the steps check the signal and start nothing more.
 */

import { killRunningCommands } from "./exec.js";

interface Registered {
  readonly controller: AbortController;
  readonly cleanup: () => Promise<unknown>;
}

const registered = new Set<Registered>();

/** Registers a cleanup; the returned signal aborts when the process is interrupted. Call `done` when finished. */
export function onInterrupt(cleanup: () => Promise<unknown>): { readonly signal: AbortSignal; done(): void } {
  const r: Registered = { controller: new AbortController(), cleanup };
  registered.add(r);
  return {
    signal: r.controller.signal,
    done: () => {
      registered.delete(r);
    },
  };
}

/** Aborts every registered step and runs its cleanup (each once, in parallel); never rejects. */
export async function interruptAll(): Promise<void> {
  const all = [...registered];
  registered.clear();
  for (const r of all) r.controller.abort();
  // the commands the interrupted steps were waiting for would otherwise outlive the process
  killRunningCommands();
  await Promise.allSettled(all.map((r) => r.cleanup()));
}
