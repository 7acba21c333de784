import { readdirSync, readFileSync, statSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { Ajv } from "ajv";
import { describe, expect, it } from "vitest";
import { PARSE_SCHEMA_VERSION, PARSED_KINDS, type ParseOutput } from "../../src/model/parsed.js";
import { detectKind, parseAs } from "../../src/parsers/registry.js";

/**
 * Every real fixture: its kind is detected from the content alone, it parses without loss, and
 * the JSON that `ovnkube-trace parse` prints for it validates against schema/parse-output.schema.json.
 */
const FIXTURES = new URL("../fixtures/", import.meta.url);
const KIND_OF_DIR: Record<string, string | undefined> = {
  "ofproto-trace": "ofproto-trace",
  "ofproto-trace-legacy": "ofproto-trace-legacy",
  "ovn-trace": "ovn-trace",
  "lflow-list": "lflow-list",
  ovsdb: "ovsdb-database",
  "datapath-flows": "datapath-flows",
  "ovn-nbctl-show": "ovn-nbctl-show",
  "ovn-sbctl-show": "ovn-sbctl-show",
};

function kindOfOpenflowFixture(name: string): string {
  if (name.includes("group")) return "dump-groups";
  if (name.includes("tlv")) return "tlv-map";
  return "dump-flows";
}

const cases: { file: string; kind: string; bytes: Uint8Array }[] = [];
const DIRS = [
  "ofproto-trace",
  "ofproto-trace-legacy",
  "ovn-trace",
  "lflow-list",
  "ovsdb",
  "openflow",
  "datapath-flows",
  "ovn-nbctl-show",
  "ovn-sbctl-show",
];
for (const dir of DIRS) {
  for (const name of readdirSync(new URL(`${dir}/`, FIXTURES))) {
    if (
      name === "README.md" ||
      name.endsWith(".input") ||
      (/dump\.txt|list\.txt(\.gz)?$/.test(name) && dir === "ovsdb")
    )
      continue;
    const url = new URL(`${dir}/${name}`, FIXTURES);
    if (!statSync(url).isFile()) continue;
    let bytes: Uint8Array = readFileSync(url);
    if (name.endsWith(".gz")) bytes = gunzipSync(bytes);
    if (dir === "ovsdb" && !Buffer.from(bytes.subarray(0, 5)).toString().startsWith("OVSDB")) continue;
    // the format before OVS 2.7 is another kind, whatever folder holds it
    const kind = name.includes("LEGACY-pre-ovs2.7")
      ? "ofproto-trace-legacy"
      : (KIND_OF_DIR[dir] ?? kindOfOpenflowFixture(name));
    cases.push({ file: `${dir}/${name}`, kind, bytes });
  }
}

const schema = JSON.parse(
  readFileSync(new URL("../../schema/parse-output.schema.json", import.meta.url), "utf8"),
) as object;
const validate = new Ajv({ allErrors: true, allowUnionTypes: true }).compile(schema);

describe("parse registry over every fixture", () => {
  it("has fixtures of every kind", () => {
    expect(new Set(cases.map((c) => c.kind))).toEqual(
      new Set([
        "ofproto-trace",
        "ovn-trace",
        "lflow-list",
        "ovsdb-database",
        "dump-flows",
        "dump-groups",
        "tlv-map",
        "ofproto-trace-legacy",
        "datapath-flows",
        "ovn-nbctl-show",
        "ovn-sbctl-show",
      ]),
    );
  });

  it("lists every kind it detects, in detection order", () => {
    expect(PARSED_KINDS).toEqual([
      "ofproto-trace-legacy",
      "ofproto-trace",
      "ovn-trace",
      "lflow-list",
      "dump-groups",
      "tlv-map",
      "dump-flows",
      "datapath-flows",
      "ovn-nbctl-show",
      "ovn-sbctl-show",
      "ovsdb-database",
    ]);
    expect(new Set(cases.map((c) => c.kind))).toEqual(new Set(PARSED_KINDS));
  });

  it("reads the ofproto/trace format before OVS 2.7 as its own kind, and refuses it as today's", () => {
    const legacy = readFileSync(
      new URL("ofproto-trace/public_ofproto-trace_LEGACY-pre-ovs2.7-format_russellb-2016.txt", FIXTURES),
    );
    expect(detectKind(legacy)).toBe("ofproto-trace-legacy");
    expect(parseAs(legacy).kind).toBe("ofproto-trace-legacy");
    expect(() => parseAs(legacy, "ofproto-trace")).toThrow(/before OVS 2\.7/);
  });

  it("reads ovn-trace --all as a set of three traces", () => {
    const doc = parseAs(readFileSync(new URL("ovn-trace/gen-all-tcp8080-ct-new.txt", FIXTURES)));
    expect(doc.kind).toBe("ovn-trace-set");
    if (doc.kind === "ovn-trace-set")
      expect(doc.traces.map((t) => t.form)).toEqual(["detailed", "summary", "minimal"]);
  });

  it.each(cases.map((c) => [c.file, c] as const))("%s", (_file, c) => {
    const detected = detectKind(c.bytes);
    const doc = parseAs(c.bytes, c.kind as never);
    const unconsumed = doc.kind === "ovsdb-database" ? 0 : doc.unconsumed.length;
    expect(unconsumed).toBe(0);
    const output: ParseOutput = {
      schemaVersion: PARSE_SCHEMA_VERSION,
      kind: doc.kind,
      input: c.file,
      unconsumedLineCount: unconsumed,
      document: doc,
    };
    const ok = validate(JSON.parse(JSON.stringify(output)));
    expect(validate.errors?.slice(0, 3) ?? []).toEqual([]);
    expect(ok).toBe(true);
    // detection may only be ambiguous between the flow-dump kinds for tiny excerpts
    expect(detected).toBe(c.kind);
  });
});
