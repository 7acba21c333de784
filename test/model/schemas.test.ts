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
import { newLabDir } from "../helpers/lab.js";

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
  beforeAll(async () => {
    s = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    for (const k of defaultDemoCases(s)) reports.push(await runDemoCase(s, k));
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

  it("the reports agree with the real packets (8080 delivered, 80 dropped on the destination node)", () => {
    const [allowed, denied] = reports;
    expect(allowed?.forward.verdict).toMatchObject({ kind: "delivered", node: "ovn-worker2" });
    expect(denied?.forward.verdict).toMatchObject({ kind: "dropped", node: "ovn-worker2" });
    expect(denied?.forward.verdict.kind === "dropped" && denied.forward.verdict.where).toMatch(/ls_out_acl/);
    for (const r of reports) expect(r.forward.groundTruth?.agrees).toBe(true);
  });
});
