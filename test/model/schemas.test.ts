import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { format, resolveConfig } from "prettier";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { generateSchema, SCHEMAS } from "../../scripts/gen-schemas.js";
import { defaultDemoCases, runDemoCase } from "../../src/app/demo.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { TraceReport } from "../../src/model/report.js";
import type { TraceRun } from "../../src/model/trace-run.js";
import { parse } from "yaml";
import { CLI } from "../helpers/cli.js";
import { newLabDir } from "../helpers/lab.js";

/** The built CLI (`npm test` builds first), as a user runs it. */
function cli(args: readonly string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], {
    encoding: "utf8",
    timeout: 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const read = (file: string): unknown =>
  JSON.parse(readFileSync(new URL(`../../${file}`, import.meta.url), "utf8"));

describe("published JSON schemas", () => {
  it.each(SCHEMAS.map((s) => [s.file, s] as const))(
    "%s is generated from the current model types",
    async (file, spec) => {
      const committed = readFileSync(new URL(`../../${file}`, import.meta.url), "utf8");
      const fresh = await format(generateSchema(spec), { ...(await resolveConfig(file)), parser: "json" });
      expect(fresh, "run `npm run schemas`").toBe(committed);
    },
    60_000,
  );
});

describe("trace reports validate against schema/trace-report.schema.json", () => {
  let s: LabState;
  const reports: TraceReport[] = [];
  /** What the CLI printed: -o json (compact), -o json --include-raw, -o yaml, on an allowed and a dropped port. */
  const printed: { args: string; code: number | null; doc: unknown; stderr: string }[] = [];
  beforeAll(async () => {
    s = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    for (const k of defaultDemoCases(s)) reports.push(await runDemoCase(s, k));
    for (const port of ["8080", "80"])
      for (const extra of [
        ["-o", "json"],
        ["-o", "json", "--include-raw"],
        ["-o", "yaml"],
      ]) {
        const args = ["--lab", s.dir, "-src", "client", "-dst", "web", "-tcp", "-dst-port", port, ...extra];
        const r = cli(args);
        printed.push({
          args: args.join(" "),
          code: r.code,
          doc: extra.includes("yaml") ? parse(r.stdout) : JSON.parse(r.stdout),
          stderr: r.stderr,
        });
      }
  });
  afterAll(async () => {
    await labDown(s.dir);
  });

  it("every report the tool makes validates", () => {
    const validate = new Ajv({ allErrors: true }).compile(read("schema/trace-report.schema.json") as object);
    expect(reports.length).toBeGreaterThan(1);
    for (const r of reports) {
      const ok = validate(JSON.parse(JSON.stringify(r)));
      expect(validate.errors ?? [], JSON.stringify(validate.errors)).toEqual([]);
      expect(ok).toBe(true);
    }
    // and the schema rejects what is not a report
    const bad = { ...JSON.parse(JSON.stringify(reports[0])), verdict: "ok" } as unknown;
    expect(validate(bad)).toBe(false);
    expect(validate({ ...JSON.parse(JSON.stringify(reports[0])), schemaVersion: "0.9" })).toBe(false);
  });

  it("the one document the CLI prints per run (-o json, --include-raw, -o yaml) validates against schema/trace-run.schema.json", () => {
    const validate = new Ajv({ allErrors: true }).compile(read("schema/trace-run.schema.json") as object);
    expect(printed.length).toBe(6);
    for (const p of printed) {
      expect(p.code, `${p.args}: ${p.stderr}`).toBe(p.args.includes("-dst-port 80 ") ? 1 : 0);
      const ok = validate(p.doc);
      expect(validate.errors ?? [], `${p.args}: ${JSON.stringify(validate.errors)}`).toEqual([]);
      expect(ok).toBe(true);
      const run = p.doc as TraceRun;
      expect(run).toMatchObject({
        schemaVersion: "1.0",
        kind: "TraceRun",
        rawOutputs: p.args.includes("--include-raw"),
      });
      expect(run.reports.length).toBe(1);
      const hops = run.reports.flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])]);
      for (const h of hops) expect(typeof h.output, p.args).toBe(run.rawOutputs ? "string" : "undefined");
    }
    // the dropped port's document says so
    expect(printed.find((p) => p.args.includes("-dst-port 80 "))?.doc).toMatchObject({
      reports: [{ forward: { verdict: { kind: "dropped", node: "ovn-worker2" } } }],
    });
    // the schema rejects what is not such a document: the old bare array, a report alone
    const one = printed[0]?.doc as TraceRun;
    expect(validate(one.reports)).toBe(false);
    expect(validate(one.reports[0])).toBe(false);
  });

  it("the reports agree with the real packets (8080 delivered, 80 dropped on the destination node)", () => {
    const [allowed, denied] = reports;
    expect(allowed?.forward.verdict).toMatchObject({ kind: "delivered", node: "ovn-worker2" });
    expect(denied?.forward.verdict).toMatchObject({ kind: "dropped", node: "ovn-worker2" });
    expect(denied?.forward.verdict.kind === "dropped" && denied.forward.verdict.where).toMatch(/ls_out_acl/);
    for (const r of reports) expect(r.forward.groundTruth?.agrees).toBe(true);
  });
});
