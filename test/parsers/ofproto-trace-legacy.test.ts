import { describe, expect, it } from "vitest";
import type {
  LegacyTableStep,
  LegacyTrace,
  LegacyTraceItem,
  OfprotoTraceLegacyDocument,
} from "../../src/model/ofproto-trace-legacy.js";
import type { SourceRef } from "../../src/model/source.js";
import {
  looksLikeOfprotoTraceLegacy,
  parseOfprotoTraceLegacy,
} from "../../src/parsers/ofproto-trace-legacy.js";
import { looksLikeOfprotoTrace, parseOfprotoTrace } from "../../src/parsers/ofproto-trace.js";
import { detectKind } from "../../src/parsers/registry.js";
import { summarizeParsed } from "../../src/render/parsed-text.js";
import { expectLosslessParses, fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/ofproto-trace-legacy/README.md; the russellb one is in ofproto-trace/.
const RUSSELLB = "ofproto-trace/public_ofproto-trace_LEGACY-pre-ovs2.7-format_russellb-2016.txt";
const NAMES = [...fixtureNames("ofproto-trace-legacy").map((n) => `ofproto-trace-legacy/${n}`), RUSSELLB];
const ALL: Record<string, string> = Object.fromEntries(NAMES.map((name) => [name, fixtureText(name)]));

function text(prefix: string): string {
  const name = NAMES.find((n) => n.includes(prefix));
  if (name === undefined) throw new Error(`no fixture ${prefix}`);
  return ALL[name] ?? "";
}

function itemSources(items: readonly LegacyTraceItem[]): SourceRef[] {
  return items.flatMap((item) => {
    if (item.kind === "report") return [item.source];
    const r = item.resubmitted;
    return [
      item.source,
      ...[r?.flow, r?.regs, r?.odp, r?.megaflow, item.actions].flatMap((l) => (l == null ? [] : [l.source])),
      ...itemSources(item.items),
    ];
  });
}

function accountedLines(doc: OfprotoTraceLegacyDocument): SourceRef[] {
  return [
    ...doc.traces.flatMap((t) => [
      ...(t.bridge === null ? [] : [t.bridge.source]),
      t.flow.source,
      ...itemSources(t.items),
      ...[t.finalFlow, t.megaflow].flatMap((l) => (l === null ? [] : [l.source])),
      t.datapathActions.source,
      ...t.trailer.map((l) => l.source),
    ]),
    ...doc.unconsumed,
  ];
}

function only(doc: OfprotoTraceLegacyDocument): LegacyTrace {
  expect(doc.traces).toHaveLength(1);
  const [trace] = doc.traces;
  if (trace === undefined) throw new Error("no trace");
  return trace;
}

function stepAt(items: readonly LegacyTraceItem[], ...path: number[]): LegacyTableStep {
  const [first, ...rest] = path;
  const item = items[first ?? 0];
  if (item?.kind !== "table") throw new Error(`no step at ${path.join(".")}`);
  return rest.length === 0 ? item : stepAt(item.items, ...rest);
}

describe("parseOfprotoTraceLegacy on every real fixture", () => {
  it.each(NAMES)("%s: every line accounted for, none unconsumed", (name) => {
    const input = ALL[name] ?? "";
    expectLosslessParses({ [name]: input }, parseOfprotoTraceLegacy, accountedLines);
    expect(looksLikeOfprotoTraceLegacy(input)).toBe(true);
    expect(detectKind(new TextEncoder().encode(input))).toBe("ofproto-trace-legacy");
    // Today's parser still refuses it, pointing here.
    expect(() => parseOfprotoTrace(input)).toThrow(ParseError);
  });
});

describe("the OVS 2.5/2.6 trace (russellb 2016)", () => {
  const trace = only(parseOfprotoTraceLegacy(text("russellb")));

  it("reads the bridge, the flows and the datapath actions", () => {
    expect(trace.bridge).toEqual({ source: { line: 1, text: "Bridge: br-int" }, name: "br-int" });
    expect(trace.flow.values).toMatchObject({ in_port: "1", dl_src: "00:00:00:00:00:01" });
    expect(trace.finalFlow?.unchanged).toBe(true);
    expect(trace.megaflow?.values).toMatchObject({ recirc_id: "0", in_port: "1" });
    expect(trace.datapathActions).toMatchObject({ text: "3", actions: [{ kind: "output", port: 3 }] });
    expect(trace.translationFailure).toBeNull();
  });

  it("nests the resubmitted lookup under the rule that resubmitted", () => {
    const first = stepAt(trace.items, 0);
    expect(first).toMatchObject({
      depth: 0,
      table: 0,
      cookie: "0",
      priority: 10,
      matchText: "priority=10,in_port=1,dl_src=00:00:00:00:00:01",
      match: [
        { field: "in_port", value: "1" },
        { field: "dl_src", value: "00:00:00:00:00:01" },
      ],
      miss: false,
      resubmitted: null,
      actions: { text: "resubmit(,1)", actions: ["resubmit(,1)"], balanced: true },
    });
    const second = stepAt(trace.items, 0, 0);
    expect(second).toMatchObject({ depth: 1, table: 1, priority: 0, actions: { actions: ["output:2"] } });
    expect(second.resubmitted?.flow?.values).toMatchObject({ in_port: "1" });
    expect(second.resubmitted?.regs?.values).toMatchObject({ reg0: "0x0", reg15: "0x0" });
    expect(second.resubmitted?.odp).toMatchObject({ text: "drop", actions: [{ kind: "drop" }] });
    expect(second.resubmitted?.megaflow?.text).toBe(
      "recirc_id=0,in_port=1,dl_src=00:00:00:00:00:01,dl_type=0x0000",
    );
  });
});

describe("the OVS tutorial traces (before OVS 2.1: no Bridge:, no Megaflow:, tabs)", () => {
  it("reads a rule without priority (the default one) and without Bridge:", () => {
    const trace = only(parseOfprotoTraceLegacy(text("table0-drop")));
    expect(trace.bridge).toBeNull();
    expect(trace.megaflow).toBeNull();
    expect(stepAt(trace.items, 0)).toMatchObject({
      table: 0,
      priority: 32768,
      match: [{ field: "dl_dst", value: "01:80:c2:00:00:00/ff:ff:ff:ff:ff:f0" }],
      actions: { actions: ["drop"] },
    });
  });

  it("reads two resubmits deep, ending in No match", () => {
    const trace = only(parseOfprotoTraceLegacy(text("trunk-port")));
    const miss = stepAt(trace.items, 0, 0, 0);
    expect(miss).toMatchObject({
      depth: 2,
      miss: true,
      table: null,
      cookie: null,
      actions: null,
      matchText: null,
    });
    expect(miss.resubmitted?.flow?.unchanged).toBe(true);
    expect(miss.resubmitted?.megaflow).toBeNull();
  });

  it("reads a resubmitted flow that changed", () => {
    const trace = only(parseOfprotoTraceLegacy(text("access-port")));
    const step = stepAt(trace.items, 0, 0);
    expect(step.actions?.actions).toEqual(["mod_vlan_vid:20", "resubmit(,2)"]);
    expect(stepAt(trace.items, 0, 0, 0).resubmitted?.flow?.values).toMatchObject({ dl_vlan: "20" });
  });
});

describe("lines of the old format the fixtures do not show", () => {
  it("reads reports, a translation failure and the slow-path reasons", () => {
    const doc = parseOfprotoTraceLegacy(
      [
        "Bridge: br0",
        "Flow: in_port=1,vlan_tci=0x0000,dl_src=50:54:00:00:00:05,dl_dst=50:54:00:00:00:07,dl_type=0x0800",
        "No match, packets dropped because OFPPC_NO_PACKET_IN is set on in_port.",
        "",
        "Rule: table=254 cookie=0 priority=0,reg0=0x2",
        "OpenFlow actions=drop",
        "\tno learned MAC for destination, flooding",
        "",
        "Final flow: unchanged",
        "Megaflow: recirc_id=0,in_port=1,dl_type=0x0800",
        "Datapath actions: drop",
        "Translation failed (Recursion too deep), packet is dropped.",
        "This flow is handled by the userspace slow path because it:",
        '\t- Sends "packet-in" messages to the OpenFlow controller.',
      ].join("\n"),
    );
    expect(doc.unconsumed).toEqual([]);
    const trace = only(doc);
    expect(trace.items[0]).toMatchObject({
      kind: "report",
      depth: 0,
      text: "No match, packets dropped because OFPPC_NO_PACKET_IN is set on in_port.",
    });
    expect(stepAt(trace.items, 1)).toMatchObject({ table: 254, match: [{ field: "reg0", value: "0x2" }] });
    expect(stepAt(trace.items, 1).items).toEqual([
      expect.objectContaining({ kind: "report", depth: 1, text: "no learned MAC for destination, flooding" }),
    ]);
    expect(trace.translationFailure).toBe("Recursion too deep");
    expect(trace.trailer.map((l) => l.kind)).toEqual(["translation-failed", "slow-path", "slow-path-reason"]);
  });

  it("reads several runs pasted one after another", () => {
    const doc = parseOfprotoTraceLegacy(`${text("russellb")}\n${text("table0-drop")}`);
    expect(doc.traces.map((t) => t.bridge?.name ?? null)).toEqual(["br-int", null]);
    expect(doc.unconsumed).toEqual([]);
  });

  it("lists stray lines as unconsumed", () => {
    const doc = parseOfprotoTraceLegacy(`hello\n${text("russellb")}what\n`);
    expect(doc.unconsumed.map((u) => u.text)).toEqual(["hello", "what"]);
    // An `OpenFlow actions=` line with no rule above it at its depth.
    const stray = parseOfprotoTraceLegacy(
      text("table0-drop").replace("OpenFlow actions=drop", "\tOpenFlow actions=drop"),
    );
    expect(stray.unconsumed.map((u) => u.line)).toEqual([3]);
  });
});

describe("rejections", () => {
  it("rejects a run cut before its Datapath actions", () => {
    const lines = text("russellb").split("\n");
    expect(() => parseOfprotoTraceLegacy(lines.slice(0, 12).join("\n"))).toThrow(
      /truncated ofproto\/trace output: the last run has no "Datapath actions:" line/,
    );
    expect(() => parseOfprotoTraceLegacy(`${lines.slice(0, 12).join("\n")}\n${text("table0-drop")}`)).toThrow(
      /line 13: interleaved or truncated/,
    );
  });

  it("rejects today's format, and today's parser rejects this one with a hint", () => {
    const modern = fixtureText("ofproto-trace/ovn-lab_20-ofproto-trace-SRC-ovn-worker-A-to-B.txt");
    expect(looksLikeOfprotoTraceLegacy(modern)).toBe(false);
    expect(looksLikeOfprotoTrace(modern)).toBe(true);
    expect(() => parseOfprotoTraceLegacy(modern)).toThrow(/OVS 2\.7\+ format is read as kind ofproto-trace/);
    let hint: string | undefined;
    try {
      parseOfprotoTrace(text("russellb"));
    } catch (e) {
      if (e instanceof ParseError) hint = e.hint;
    }
    expect(hint).toMatch(/ofproto-trace-legacy/);
  });

  it("rejects text that is not a trace, and a trace with neither Bridge: nor Rule:", () => {
    expect(() => parseOfprotoTraceLegacy("ovs-appctl: br-int: unknown bridge\n")).toThrow(
      /line 1: not ofproto\/trace/,
    );
    expect(() =>
      parseOfprotoTraceLegacy("Flow: in_port=1\n\nFinal flow: unchanged\nDatapath actions: drop\n"),
    ).toThrow(/format before OVS 2\.7/);
    expect(() => parseOfprotoTraceLegacy("")).toThrow(ParseError);
  });

  it("reads long mangled lines in linear time", () => {
    const start = performance.now();
    const russellb = text("russellb");
    const long = russellb.replace(
      "OpenFlow actions=output:2",
      `OpenFlow actions=output:2${"(".repeat(100_000)}`,
    );
    expect(parseOfprotoTraceLegacy(long).unconsumed).toEqual([]);
    const deep = russellb.replace(
      "Final flow",
      `${"\t".repeat(50_000)}Rule: table=1 cookie=0 ${"a=1,".repeat(20_000)}\nFinal flow`,
    );
    expect(parseOfprotoTraceLegacy(deep).unconsumed).toEqual([]);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("rejects a second Final flow or Datapath actions in one run", () => {
    expect(() => parseOfprotoTraceLegacy(`${text("russellb")}Datapath actions: 4\n`)).toThrow(
      /a second "Datapath actions:"/,
    );
    const twice = text("russellb").replace(
      "Final flow: unchanged",
      "Final flow: unchanged\nFinal flow: unchanged",
    );
    expect(() => parseOfprotoTraceLegacy(twice)).toThrow(/a second "Final flow:"/);
  });

  it("rejects cut datapath actions", () => {
    expect(() =>
      parseOfprotoTraceLegacy(text("russellb").replace("Datapath actions: 3", "Datapath actions: ct(zone=1")),
    ).toThrow(/unbalanced parentheses in "Datapath actions:"/);
  });
});

describe("parse -o text of an old-format trace", () => {
  it("says how many lookups, how deep, and the datapath actions", () => {
    expect(summarizeParsed(parseOfprotoTraceLegacy(`${text("russellb")}\n${text("trunk-port")}`))).toBe(
      [
        "ofproto/trace (format before OVS 2.7): 2 run(s)",
        "  run 1 on br-int: 2 rule lookups, 1 resubmit(s) deep; datapath actions: 3",
        "  run 2: 3 rule lookups, 2 resubmit(s) deep; datapath actions: drop",
      ].join("\n"),
    );
  });
});

describe("parseOfprotoTraceLegacy fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseOfprotoTraceLegacy, accountedLines, {
      seed: 0x1e9a,
      sources: Object.values(ALL),
      alphabet: [
        "(",
        ")",
        ",",
        "=",
        " ",
        "\t",
        "\n",
        ":",
        "0",
        "x",
        "Rule: table=",
        "OpenFlow actions=",
        "Resubmitted ",
      ],
      windowLines: 30,
    });
  });
});
