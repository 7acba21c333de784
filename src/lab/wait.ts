import { readFileSync } from "node:fs";
import { join } from "node:path";
import { setTimeout as sleep } from "node:timers/promises";
import { ProcessError } from "../errors.js";
import { isAlive, type DaemonRecord } from "../ovs/daemon.js";

/**
 * How `lab up` waits for OVN: for as long as it makes progress, however slow the machine, rather than for a fixed
 * time; and how it sets many nodes up without starting them all at once.
 */

/** A wait fails after this long with nothing moving: neither its state nor the CPU time of its daemons. */
export const STALL_MS = 60_000;

/** A daemon of the lab, named for messages. */
export interface WatchedDaemon extends DaemonRecord {
  readonly owner: string;
}

/** User and system CPU time (clock ticks) the daemons have used so far. */
export function cpuTicks(daemons: readonly DaemonRecord[]): number {
  let ticks = 0;
  for (const d of daemons) {
    try {
      const stat = readFileSync(`/proc/${String(d.pid)}/stat`, "utf8");
      const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
      ticks += Number(f[11]) + Number(f[12]);
    } catch {
      // exited: the caller sees it
    }
  }
  return ticks;
}

/**
 * Polls `check` (backing off from 20 to 250 ms) until it says done (true; a string is how far it got). It fails
 * when a daemon of `alive` exited, when nothing moved for STALL_MS (neither what `check` reports nor the CPU time
 * of the `busy` daemons: OVN still computing is progress), or after `budgetMs`. Every 5 s it tells `note` what it
 * waits for.
 */
export async function waitFor(
  what: string,
  busy: readonly DaemonRecord[],
  alive: readonly WatchedDaemon[],
  check: () => Promise<boolean | string>,
  o: { readonly budgetMs: number; readonly note?: (line: string) => void },
): Promise<void> {
  const t0 = Date.now();
  let lastMove = t0;
  let lastNote = t0;
  let seen = "";
  let delay = 20;
  for (;;) {
    const r = await check();
    if (r === true) return;
    const now = Date.now();
    const state = `${typeof r === "string" ? r : ""} ${String(cpuTicks(busy))}`;
    if (state !== seen) {
      seen = state;
      lastMove = now;
    }
    const dead = alive.filter((d) => !isAlive(d.pid));
    if (dead.length > 0)
      throw new ProcessError(`${what}: ${dead.map((d) => `${d.owner}/${d.program}`).join(", ")} exited`, {
        hint: `see ${dead.map((d) => join(d.dir, `${d.program}.log`)).join(", ")}`,
      });
    const detail = typeof r === "string" ? ` (${r})` : "";
    const waited = `${String(Math.round((now - t0) / 1000))} s`;
    if (now - lastMove > STALL_MS)
      throw new ProcessError(
        `timed out waiting for ${what}${detail}: no progress in ${String(STALL_MS / 1000)} s`,
      );
    if (now - t0 > o.budgetMs)
      throw new ProcessError(`timed out waiting for ${what}${detail} after ${waited}`);
    if (now - lastNote >= 5000) {
      lastNote = now;
      o.note?.(`  \u2026 ${what}${detail} (${waited})`);
    }
    await sleep(delay);
    delay = Math.min(250, Math.round(delay * 1.5));
  }
}

/**
 * Runs `fn` on every item, at most `limit` at a time. Like Promise.allSettled, waits for every started one before
 * it rejects (a failing `up` then cleans up after steps that have finished), and starts no more after a failure.
 */
export async function pool<T>(
  items: readonly T[],
  limit: number,
  fn: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failed: { reason: unknown } | undefined;
  const worker = async (): Promise<void> => {
    while (failed === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (e) {
        failed ??= { reason: e };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failed !== undefined) throw failed.reason;
}
