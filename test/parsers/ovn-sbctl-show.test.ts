import { describe, expect, it } from "vitest";
import type { SbChassis, SbctlShowDocument } from "../../src/model/ovn-show.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeSbctlShow, ovsdbAtom, ovsdbMap, parseSbctlShow } from "../../src/parsers/ovn-sbctl-show.js";
import { detectKind } from "../../src/parsers/registry.js";
import { summarizeParsed } from "../../src/render/parsed-text.js";
import { expectLosslessParses, fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/ovn-sbctl-show/README.md.
const NAMES = fixtureNames("ovn-sbctl-show");
const ALL: Record<string, string> = Object.fromEntries(
  NAMES.map((name) => [name, fixtureText(`ovn-sbctl-show/${name}`)]),
);

function fixture(prefix: string): string {
  const name = NAMES.find((n) => n.startsWith(prefix));
  if (name === undefined) throw new Error(`no fixture ${prefix}`);
  return ALL[name] ?? "";
}

function accountedLines(doc: SbctlShowDocument): SourceRef[] {
  return [
    ...doc.chassis.flatMap((c) => [
      c.source,
      ...c.columns.map((p) => p.source),
      ...c.encaps.flatMap((e) => [e.source, ...e.columns.map((p) => p.source)]),
      ...c.portBindings.map((b) => b.source),
    ]),
    ...doc.elisions.map((e) => e.source),
    ...doc.unconsumed,
  ];
}

function chassisOf(doc: SbctlShowDocument, hostname: string): SbChassis {
  const found = doc.chassis.find((c) => c.hostname === hostname);
  if (found === undefined) throw new Error(`no chassis ${hostname}`);
  return found;
}

const ELIDED = fixture("public_");
const IC = fixture("lab-ic_");
const CENTRAL = fixture("lab-dualstack-central_");
const SCRATCH = fixture("scratch-sb_");

describe("parseSbctlShow on every real fixture", () => {
  it.each(NAMES)("%s: every line accounted for, none unconsumed", (name) => {
    const text = ALL[name] ?? "";
    expectLosslessParses({ [name]: text }, parseSbctlShow, accountedLines);
    expect(parseSbctlShow(text).chassis.length).toBeGreaterThan(0);
    expect(looksLikeSbctlShow(text)).toBe(true);
    expect(detectKind(new TextEncoder().encode(text))).toBe("ovn-sbctl-show");
  });
});

describe("ovn-kubernetes chassis", () => {
  it("reads the published excerpt: quoted names, hostname, Geneve encap, bindings", () => {
    const doc = parseSbctlShow(ELIDED);
    expect(doc.elisions.map((e) => e.source.line)).toEqual([21]);
    const first = doc.chassis[0];
    expect(first).toMatchObject({
      name: "fe4e7b3c-4180-43c3-91f6-b38b9c898cbd",
      hostname: "ovn-control-plane",
      encaps: [{ type: "geneve", ip: "172.18.0.2", options: { csum: "true" } }],
    });
    expect(first?.columns.map((c) => c.key)).toEqual(["hostname"]);
    expect(first?.encaps[0]?.columns.map((c) => [c.key, c.value])).toEqual([
      ["ip", '"172.18.0.2"'],
      ["options", '{csum="true"}'],
    ]);
    expect(first?.portBindings.map((b) => b.logicalPort)).toEqual([
      "rtoj-GR_ovn-control-plane",
      "k8s-ovn-control-plane",
      "etor-GR_ovn-control-plane",
      "jtor-GR_ovn-control-plane",
      "rtoe-GR_ovn-control-plane",
      "cr-rtos-ovn-control-plane",
    ]);
    expect(chassisOf(doc, "ovn-worker2").portBindings).toHaveLength(4);
  });

  it("reads an interconnect zone: the remote nodes bind only their transit port", () => {
    const doc = parseSbctlShow(IC);
    expect(doc.chassis.map((c) => [c.hostname, c.encaps[0]?.ip, c.portBindings.length])).toEqual([
      ["ovn-control-plane", "172.18.0.2", 1],
      ["ovn-worker", "172.18.0.3", 7],
      ["ovn-worker2", "172.18.0.4", 1],
    ]);
    expect(chassisOf(doc, "ovn-worker2").portBindings[0]?.logicalPort).toBe("tstor-ovn-worker2");
  });

  it("reads a central SB: every pod port bound to its node", () => {
    const doc = parseSbctlShow(CENTRAL);
    expect(chassisOf(doc, "ovn-worker2").portBindings.map((b) => b.logicalPort)).toContain("default_web");
    expect(chassisOf(doc, "ovn-worker").portBindings.map((b) => b.logicalPort)).toContain("default_client");
  });
});

describe("the lines ovn-kubernetes never prints (scratch SB)", () => {
  const doc = parseSbctlShow(SCRATCH);

  it("reads a chassis without hostname, two encaps, a two-key options map", () => {
    expect(doc.chassis[0]).toMatchObject({
      name: "2d7c5b8e-1f3a-4c6b-9e0d-7a8b9c0d1e2f",
      hostname: null,
      portBindings: [],
      columns: [],
    });
    const c1 = chassisOf(doc, "compute-1.example.org");
    expect(c1.name).toBe("chassis-1");
    expect(c1.encaps.map((e) => [e.type, e.ip, e.options])).toEqual([
      ["geneve", "192.168.100.11", { csum: "true", dst_port: "6081" }],
      ["vxlan", "192.168.100.11", { csum: "true" }],
    ]);
  });

  it("unquotes the logical ports OVSDB quotes", () => {
    expect(chassisOf(doc, "compute-2").portBindings.map((b) => b.logicalPort)).toEqual([
      "0d3b9c7e-5a42-4f1e-8c6d-2b7e1f0a3c55",
      "cr-lrp-gw",
    ]);
  });
});

describe("OVSDB atoms and maps", () => {
  it("reads bare and JSON-quoted atoms", () => {
    expect(ovsdbAtom("ovn-worker")).toBe("ovn-worker");
    expect(ovsdbAtom('"a \\"b\\" \\u00e9"')).toBe('a "b" é');
    expect(ovsdbAtom('"cut')).toBeUndefined();
  });

  it("reads maps, quoted keys with = included", () => {
    expect(ovsdbMap('{csum="true", dst_port="6081"}')).toEqual({ csum: "true", dst_port: "6081" });
    expect(ovsdbMap('{"a=b"="c, d"}')).toEqual({ "a=b": "c, d" });
    expect(ovsdbMap("{}")).toEqual({});
    expect(Object.keys(ovsdbMap('{"__proto__"="x"}') ?? {})).toEqual(["__proto__"]);
    expect(ovsdbMap("{csum}")).toBeUndefined();
    expect(ovsdbMap("csum=true")).toBeUndefined();
  });
});

describe("parseSbctlShow on other input", () => {
  it("returns an empty document for empty output (an SB without chassis)", () => {
    expect(parseSbctlShow("")).toEqual({
      kind: "ovn-sbctl-show",
      chassis: [],
      elisions: [],
      unconsumed: [],
      lineCount: 0,
    });
  });

  it("rejects text that is not ovn-sbctl show", () => {
    expect(() => parseSbctlShow(fixtureText("ovn-nbctl-show/lab-ic_ovn-worker_nbctl-show.txt"))).toThrow(
      /line 1: not ovn-sbctl show output/,
    );
  });

  it("rejects a row name cut inside its quotes", () => {
    expect(() => parseSbctlShow(`${IC}Chassis "b20bbcc1-97f8\n`)).toThrow(ParseError);
    expect(() => parseSbctlShow(`${IC}Chassis "b20bbcc1-97f8\n`)).toThrow(/line 25: malformed Chassis name/);
  });

  it("reads long mangled lines in linear time", () => {
    const start = performance.now();
    const doc = parseSbctlShow(`Chassis c\n    Encap geneve\n        options: {${"a=b, ".repeat(30_000)}\n`);
    expect(doc.chassis[0]?.encaps[0]?.options).toEqual({});
    expect(() => parseSbctlShow(`Chassis "${'\\"'.repeat(50_000)}\n`)).toThrow(ParseError);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("reads flattened indentation, and lists rows outside a chassis as unconsumed", () => {
    const flat = parseSbctlShow(
      ELIDED.split("\n")
        .map((l) => l.trim())
        .join("\n"),
    );
    expect(flat.unconsumed).toEqual([]);
    expect(flat.chassis[0]?.encaps[0]?.ip).toBe("172.18.0.2");
    const orphan = parseSbctlShow(`    Port_Binding lost\n        ip: "1.2.3.4"\n${IC}`);
    expect(orphan.unconsumed.map((u) => u.line)).toEqual([1, 2]);
  });
});

describe("looksLikeSbctlShow", () => {
  it("rejects other ovs/ovn outputs", () => {
    expect(looksLikeSbctlShow(fixtureText("ovn-nbctl-show/lab-ic_ovn-worker_nbctl-show.txt"))).toBe(false);
    expect(looksLikeSbctlShow(fixtureText("openflow/ovn-worker_br-int.tlv-map.txt"))).toBe(false);
    expect(looksLikeSbctlShow("Chassis\n")).toBe(false);
  });
});

describe("parse -o text of ovn-sbctl show", () => {
  it("lists every chassis with its encapsulations and bindings", () => {
    expect(summarizeParsed(parseSbctlShow(SCRATCH))).toBe(
      [
        "ovn-sbctl show: 3 chassis",
        "  2d7c5b8e-1f3a-4c6b-9e0d-7a8b9c0d1e2f: geneve 192.168.100.13; 0 port bindings",
        "  compute-2: geneve 192.168.100.12; 2 port bindings",
        "  compute-1.example.org: geneve 192.168.100.11, vxlan 192.168.100.11; 2 port bindings",
      ].join("\n"),
    );
  });
});

describe("parseSbctlShow fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseSbctlShow, accountedLines, {
      seed: 0x5b5e,
      sources: Object.values(ALL),
      alphabet: '"{}=,: \n0aChassis Encap Port_Binding hostname: ip: options: \\',
      windowLines: 12,
    });
  });
});
