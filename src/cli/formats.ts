import type { OutputFormat, PageFormat } from "../app/command.js";
import { InputError } from "../errors.js";

/** `-o`: text (for people), json or yaml (the same document, for programs). */
export function outputFormat(v: string | undefined, fallback: OutputFormat = "text"): OutputFormat {
  if (v === undefined) return fallback;
  if (v === "text" || v === "json" || v === "yaml") return v;
  throw new InputError(`-o must be text, json or yaml, not "${v}"`);
}

/** `-o` of the commands that also draw a page: text, json, yaml or html. */
export function pageFormat(v: string | undefined, fallback: PageFormat = "text"): PageFormat {
  if (v === undefined) return fallback;
  if (v === "html") return v;
  try {
    return outputFormat(v);
  } catch {
    throw new InputError(`-o must be text, json, yaml or html, not "${v}"`);
  }
}

const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * A duration as kubectl takes them (`30s`, `1m`, `1m30s`, `500ms`, `1.5s`); a plain number is milliseconds,
 * as the flag always took. In milliseconds, from `min` to `max`, or an InputError.
 */
export function duration(v: string, flag: string, min: number, max: number): number {
  const s = v.trim();
  let ms: number | undefined;
  if (/^\d+(\.\d+)?$/.test(s)) ms = Number(s);
  else if (/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(s)) {
    ms = 0;
    for (const m of s.matchAll(/(\d+(?:\.\d+)?)(ms|s|m|h)/g))
      ms += Number(m[1]) * (UNIT_MS[m[2] ?? ""] ?? NaN);
  }
  if (ms === undefined || !Number.isFinite(ms))
    throw new InputError(
      `${flag} must be a duration (30s, 1m, 500ms; a plain number is milliseconds), not "${v}"`,
    );
  ms = Math.round(ms);
  if (ms < min || ms > max)
    throw new InputError(`${flag} must be from ${String(min)} ms to ${String(max / 1000)} s, not "${v}"`);
  return ms;
}
