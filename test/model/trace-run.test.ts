import { readFileSync } from "node:fs";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { TraceReport } from "../../src/model/report.js";
import { renderDocument, traceRunDocument, versioned } from "../../src/render/document.js";
import { recordedCase, recordedCaseNames } from "../golden/recorded.js";

const schema = JSON.parse(
  readFileSync(new URL("../../schema/trace-run.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true }).compile(schema);
const plain = (v: unknown): unknown => JSON.parse(JSON.stringify(v));

describe("the trace run document (-o json|yaml), on recorded real runs", () => {
  const names = recordedCaseNames();

  it("has recorded runs to check", () => {
    expect(names.length).toBeGreaterThan(3);
  });

  it.each(names)("%s: compact by default, whole with the raw outputs, valid both ways", (name) => {
    const reports: readonly TraceReport[] = recordedCase(name).reports;
    const compact = traceRunDocument(reports, false);
    const raw = traceRunDocument(reports, true);
    for (const doc of [compact, raw]) {
      expect(validate(plain(doc)), JSON.stringify(validate.errors)).toBe(true);
      expect(doc).toMatchObject({ schemaVersion: "1.0", kind: "TraceRun", tool: { name: "ovnkube-trace" } });
    }
    expect(raw.rawOutputs).toBe(true);
    expect(raw.reports).toEqual(reports);
    expect(compact.rawOutputs).toBe(false);
    const hops = compact.reports.flatMap((r) => [...r.forward.hops, ...(r.reply?.hops ?? [])]);
    expect(hops.length).toBeGreaterThan(0);
    for (const h of hops) {
      expect(h).not.toHaveProperty("output");
      if (h.detrace !== undefined) expect(h.detrace).not.toHaveProperty("output");
    }
    // only the raw outputs are gone: put them back and it is the report again
    const back = compact.reports.map((r, i) => {
      const full = reports[i];
      const dir = (d: typeof r.forward, f: TraceReport["forward"] | undefined) => ({
        ...d,
        hops: d.hops.map((h, j) => {
          const fh = f?.hops[j];
          return {
            ...h,
            output: fh?.output,
            ...(h.detrace === undefined ? {} : { detrace: { ...h.detrace, output: fh?.detrace?.output } }),
          };
        }),
      });
      return {
        ...r,
        forward: dir(r.forward, full?.forward),
        ...(r.reply === undefined ? {} : { reply: dir(r.reply, full?.reply) }),
      };
    });
    expect(plain(back)).toEqual(plain(reports));
    expect(JSON.stringify(compact).length).toBeLessThan(JSON.stringify(raw).length * 0.8);
  });

  it("the schema refuses what is not a run: a bare array of reports, a wrong kind or version", () => {
    const doc = plain(traceRunDocument(recordedCase(names[0] ?? "").reports, false)) as Record<
      string,
      unknown
    >;
    expect(validate(doc)).toBe(true);
    expect(validate(doc.reports)).toBe(false);
    expect(validate({ ...doc, kind: "TraceReport" })).toBe(false);
    expect(validate({ ...doc, schemaVersion: "0.9" })).toBe(false);
    expect(validate({ ...doc, extra: 1 })).toBe(false);
  });

  it("YAML is the same document as JSON (no anchors, no folded lines)", () => {
    const doc = traceRunDocument(recordedCase(names[0] ?? "").reports, true);
    const json = renderDocument(doc, "json");
    const yaml = renderDocument(doc, "yaml");
    expect(json.endsWith("}\n")).toBe(true);
    expect(JSON.parse(json)).toEqual(plain(doc));
    expect(parse(yaml)).toEqual(plain(doc));
    expect(yaml).not.toMatch(/[&*]a\d+\b/);
    expect(yaml).toMatch(/^schemaVersion: "1\.0"\nkind: TraceRun\n/);
  });

  it("every other document starts with schemaVersion and kind", () => {
    const d = versioned("LabUp", { started: true });
    expect(Object.keys(d)).toEqual(["schemaVersion", "kind", "started"]);
    expect(renderDocument(d, "yaml")).toBe('schemaVersion: "1.0"\nkind: LabUp\nstarted: true\n');
  });
});
