/**
 * `snapshot collect --sos`: one snapshot from the sos reports of a cluster's nodes (one report = one
 * node). Archives are read with the system tar; only the members a snapshot needs are extracted, into
 * a scratch directory removed afterwards.
 */

import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { basename, join } from "node:path";
import { InputError } from "../errors.js";
import type { SnapshotManifest } from "./format.js";
import { archiveStem, openSosInput } from "./sos-archive.js";
import { assembleSnapshot, type CollectedNode } from "./sos-assemble.js";
import { collectSosReport } from "./sos-report.js";

export interface CollectFromSosOptions {
  readonly progress?: (msg: string) => void;
}

const SOS_HINT =
  "give the sos report (.tar.xz, .tar.gz, .tgz, .tar or its extracted directory) of a node running " +
  "Open vSwitch, taken with the openvswitch, ovn_host and ovn_central plugins";

function summary(n: CollectedNode): string {
  if (n.error !== undefined) return `${n.origin}: nothing usable`;
  const flows = n.bridges.filter((b) => b.flows !== undefined).map((b) => b.name);
  const dbs = [n.confDb && "conf.db", n.nb && "NB", n.sb && "SB"].filter(Boolean).join(", ");
  const missing = n.missing.length > 0 ? `; missing ${n.missing.join(", ")}` : "";
  return `node ${n.name} (${n.origin}): flows of ${flows.join(", ") || "no bridge"}; ${dbs || "no database"}${missing}`;
}

/**
 * Collects a snapshot from sos reports into `out` (a new or empty directory). A report that gives
 * nothing is a failed node; when no report gives anything, an InputError, and `out` is left as it was.
 */
export async function collectFromSos(
  inputs: readonly string[],
  out: string,
  opts: CollectFromSosOptions = {},
): Promise<SnapshotManifest> {
  if (inputs.length === 0) throw new InputError("no sos report given", { hint: SOS_HINT });
  // a mistyped path is a mistake to fix, not a node that failed
  const absent = inputs.filter((i) => !existsSync(i));
  if (absent.length > 0)
    throw new InputError(`no such file or directory: ${absent.join(", ")}`, { hint: SOS_HINT });
  const progress = opts.progress ?? (() => undefined);
  return assembleSnapshot(out, "ovnkube-trace-sos-", async (asm, scratch) => {
    const failures: InputError[] = [];
    for (const input of inputs) {
      const started = performance.now();
      progress(`reading ${input}`);
      const workDir = mkdtempSync(join(scratch, "in-"));
      try {
        const opened = await openSosInput(input, workDir);
        asm.problems.push(...opened.problems);
        for (const report of opened.reports) {
          const node = await collectSosReport(report, workDir, asm.problems);
          if (node.error !== undefined) {
            failures.push(new InputError(node.error, { hint: SOS_HINT }));
            asm.problems.push(node.error);
          }
          asm.add(node);
          progress(summary(node));
        }
      } catch (e) {
        if (!(e instanceof InputError)) throw e;
        failures.push(e);
        asm.problems.push(e.message);
        asm.add({
          origin: input,
          name: archiveStem(input),
          bridges: [],
          runtime: {},
          missing: [],
          error: e.message,
        });
      } finally {
        rmSync(workDir, { recursive: true, force: true });
      }
      progress(`${input} read in ${Math.round(performance.now() - started)} ms`);
    }
    if (asm.usableNodes === 0) throw noData(failures);
    const names = inputs.map((i) => basename(i));
    return asm.finish({
      kind: "sos",
      description: `sos report${inputs.length > 1 ? "s" : ""}: ${names.join(", ")}`,
    });
  });
}

function noData(failures: readonly InputError[]): InputError {
  const [only] = failures;
  if (failures.length === 1 && only !== undefined) return only;
  return new InputError(
    `none of the ${failures.length} sos reports has usable data:\n${failures.map((f) => `  ${f.message}`).join("\n")}`,
    { hint: SOS_HINT },
  );
}
