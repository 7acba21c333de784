import { describe, expect, it } from "vitest";
import type { DatapathFlow, DatapathFlowsDocument } from "../../src/model/datapath-flows.js";
import type { SourceRef } from "../../src/model/source.js";
import {
  looksLikeDatapathFlows,
  parseCtState,
  parseDatapathFlows,
} from "../../src/parsers/datapath-flows.js";
import { tunnelOf } from "../../src/parsers/datapath-actions.js";
import { detectKind } from "../../src/parsers/registry.js";
import { summarizeParsed } from "../../src/render/parsed-text.js";
import { expectLosslessParses, fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/datapath-flows/README.md.
const NAMES = fixtureNames("datapath-flows");
const ALL: Record<string, string> = Object.fromEntries(
  NAMES.map((name) => [name, fixtureText(`datapath-flows/${name}`)]),
);

function fixture(prefix: string): string {
  const name = NAMES.find((n) => n.startsWith(prefix));
  if (name === undefined) throw new Error(`no fixture ${prefix}`);
  return ALL[name] ?? "";
}

function accountedLines(doc: DatapathFlowsDocument): SourceRef[] {
  return [...[...doc.headers, ...doc.flows, ...doc.elisions].map((r) => r.source), ...doc.unconsumed];
}

function flowAtLine(doc: DatapathFlowsDocument, line: number): DatapathFlow {
  const flow = doc.flows.find((f) => f.source.line === line);
  if (flow === undefined) throw new Error(`no flow at line ${line}`);
  return flow;
}

const PUBLIC = fixture("public_ovs-dpctl-dump-flows_ovnk-kind");
const HOTSOS = fixture("hotsos_");
const IC = fixture("lab-ic_ovn-worker_dpctl-dump-flows.txt");
const IC_M = fixture("lab-ic_ovn-worker_dpctl-dump-flows-m.txt");
const IC_NAMES = fixture("lab-ic_ovn-worker_dpctl-dump-flows--names.txt");
const IC_DPIF = fixture("lab-ic_ovn-worker_dpif-dump-flows_br-int.txt");
const IC_DPIF_M = fixture("lab-ic_ovn-worker_dpif-dump-flows-m_br-int.txt");
const IC_WORKER2_M = fixture("lab-ic_ovn-worker2_dpctl-dump-flows-m.txt");
const DUALSTACK = fixture("lab-dualstack_ovn-worker_dpctl-dump-flows.txt");
const DUALSTACK2 = fixture("lab-dualstack_ovn-worker2_dpctl-dump-flows.txt");

describe("parseDatapathFlows on every real fixture", () => {
  it("has fixtures of every form", () => {
    expect(NAMES.length).toBeGreaterThanOrEqual(12);
  });

  it.each(NAMES)("%s: every line accounted for, none unconsumed", (name) => {
    const text = ALL[name] ?? "";
    expectLosslessParses({ [name]: text }, parseDatapathFlows, accountedLines);
    const doc = parseDatapathFlows(text);
    expect(doc.kind).toBe("datapath-flows");
    expect(doc.flows.length).toBeGreaterThan(0);
    // Every flow's actions are read by the datapath-actions parser.
    expect(doc.flows.filter((f) => f.actions === null)).toEqual([]);
    expect(looksLikeDatapathFlows(text)).toBe(true);
    expect(detectKind(new TextEncoder().encode(text))).toBe("datapath-flows");
  });
});

describe("the published ovn-kubernetes dump (kernel datapath, three recirculation stages)", () => {
  const doc = parseDatapathFlows(PUBLIC);

  it("reads the key into fields, with recirc_id, in_port and ct_state apart", () => {
    expect(doc.headers).toEqual([]);
    expect(doc.flows.map((f) => f.recircId)).toEqual(["0", "0x2a", "0x2b"]);
    expect(doc.flows.map((f) => f.inPort)).toEqual([3, 3, 3]);
    const first = flowAtLine(doc, 1);
    expect(first.ufid).toBeNull();
    expect(first.match.map((m) => m.key)).toEqual([
      "recirc_id",
      "in_port",
      "ct_state",
      "ct_label",
      "eth",
      "eth_type",
      "ipv4",
      "tcp",
    ]);
    expect(first.match[4]).toEqual({
      key: "eth",
      value: "src=00:00:00:00:00:00/01:00:00:00:00:00,dst=0a:58:0a:f4:02:04",
      fields: { src: "00:00:00:00:00:00/01:00:00:00:00:00", dst: "0a:58:0a:f4:02:04" },
    });
    expect(first.match[6]?.fields).toEqual({ dst: "10.244.2.4", proto: "6", frag: "no" });
    expect(first.ctState).toEqual({ text: "+new-est+trk", set: ["new", "trk"], unset: ["est"] });
    expect(flowAtLine(doc, 5).ctState).toEqual({
      text: "-new+est-rel-rpl-inv+trk",
      set: ["est", "trk"],
      unset: ["new", "rel", "rpl", "inv"],
    });
  });

  it("reads the counters as numbers", () => {
    expect(flowAtLine(doc, 1).stats).toEqual({
      packets: 543,
      bytes: 40182,
      usedSeconds: 2.406,
      tcpFlags: "S",
    });
    expect(flowAtLine(doc, 5).stats).toEqual({
      packets: 99877,
      bytes: 9012994,
      usedSeconds: 2.403,
      tcpFlags: "FP.",
    });
  });

  it("reads the actions with the datapath-actions parser", () => {
    const [first, second, third] = doc.flows;
    expect(first?.actionsText).toBe("ct(zone=7,nat),recirc(0x2a)");
    expect(first?.actions).toMatchObject([
      { kind: "ct", zone: 7, nat: { direction: null } },
      { kind: "recirc", id: "0x2a" },
    ]);
    expect(second?.actions).toMatchObject([
      { kind: "ct", zone: 7, commit: true, label: "0/0x1" },
      { kind: "ct", zone: 12 },
      { kind: "recirc", id: "0x2b" },
    ]);
    expect(third?.actions).toEqual([{ kind: "output", text: "7", port: 7 }]);
    expect(third).toMatchObject({ offloaded: null, dpLayer: null, dpExtraInfo: null, other: [] });
  });
});

describe("the lab's userspace datapath dumps", () => {
  it("reads the thread header", () => {
    const doc = parseDatapathFlows(IC);
    expect(doc.headers).toEqual([
      { kind: "dump-header", source: { line: 1, text: "flow-dump from the main thread:" }, pmdCore: null },
    ]);
    expect(parseDatapathFlows(IC_DPIF).headers).toEqual([]);
  });

  it("reads tnl_push into a tunnel in OVN terms, and the service's hash and dp_hash", () => {
    const doc = parseDatapathFlows(DUALSTACK);
    const toWeb = flowAtLine(doc, 3);
    expect(toWeb.stats).toEqual({ packets: 3, bytes: 162, usedSeconds: 1.55, tcpFlags: "S" });
    expect(toWeb.match.find((m) => m.key === "ipv4")?.fields).toMatchObject({
      src: "10.244.1.3/255.255.255.254",
      dst: "10.244.2.4",
    });
    expect(tunnelOf(toWeb.actions ?? [])).toMatchObject({
      vni: 2,
      src: "172.18.0.3",
      dst: "172.18.0.4",
      ovnIngressPortKey: 4,
      ovnEgressPortKey: 5,
    });
    const service = doc.flows.find((f) => f.actions?.some((a) => a.kind === "hash") === true);
    expect(service?.actions?.map((a) => a.kind)).toEqual(["hash", "recirc"]);
    const bucket = doc.flows.find((f) => f.match.some((m) => m.key === "dp_hash"));
    expect(bucket?.actions?.[0]).toMatchObject({
      kind: "ct",
      nat: { direction: "dst", addr: "fd00:10:244::3", port: 53 },
    });
  });

  it("reads the tunnel key of flows that came in by Geneve", () => {
    const doc = parseDatapathFlows(DUALSTACK2);
    const fromTunnel = doc.flows.filter((f) => f.match[0]?.key === "tunnel");
    expect(fromTunnel.length).toBeGreaterThan(0);
    expect(fromTunnel[0]?.match[0]?.fields).toMatchObject({
      tun_id: "0x2",
      src: "172.18.0.3",
      dst: "172.18.0.4",
    });
    expect(fromTunnel.every((f) => f.inPort === 6081)).toBe(true);
    const pop = doc.flows.find((f) => f.actionsText === "tnl_pop(6081)");
    expect(pop?.actions).toEqual([{ kind: "other", text: "tnl_pop(6081)", name: "tnl_pop" }]);
  });

  it("reads -m: the ufid, every key with its mask, hex ct_state, dp and dp-extra-info", () => {
    const doc = parseDatapathFlows(IC_M);
    const first = flowAtLine(doc, 2);
    expect(first.ufid).toBe("48b26250-834d-4833-bbf7-99f133cdd94a");
    expect(first.match.slice(0, 3).map((m) => `${m.key}(${m.value})`)).toEqual([
      "skb_priority(0/0)",
      "skb_mark(0/0)",
      "ct_state(0x21/0x3f)",
    ]);
    expect(first.ctState).toEqual({
      text: "0x21/0x3f",
      set: ["new", "trk"],
      unset: ["est", "rel", "rpl", "inv"],
    });
    expect(first).toMatchObject({
      recircId: "0x5",
      inPort: "0b4ce082978cba9",
      dpLayer: "ovs",
      offloaded: null,
      actionsText: "hash(l4(0)),recirc(0x6)",
      dpExtraInfo: "miniflow_bits(5,3)",
    });
    // ct_state(0/0): no flag is looked at.
    expect(flowAtLine(doc, 3).ctState).toEqual({ text: "0/0", set: [], unset: [] });
  });

  it("reads the same flows with and without -m and --names", () => {
    const key = (f: DatapathFlow): string =>
      `${f.recircId ?? ""} ${f.actions?.map((a) => a.kind).join(",") ?? ""}`;
    const plain = parseDatapathFlows(IC).flows.map(key).sort();
    expect(parseDatapathFlows(IC_M).flows.map(key).sort()).toEqual(plain);
    const names = parseDatapathFlows(IC_NAMES);
    expect(names.flows.map(key).sort()).toEqual(plain);
    expect(names.flows.every((f) => f.ufid === null && f.inPort === "0b4ce082978cba9")).toBe(true);
    const tunnel = names.flows.flatMap((f) => f.actions ?? []).find((a) => a.kind === "tnl_push");
    // Port names where numbers were: the tunnel still reads, the ports by number do not.
    expect(tunnel?.kind === "tnl_push" ? tunnel.tunnel : null).toMatchObject({
      dst: "172.18.0.2",
      outPort: null,
      tunnelPort: null,
    });
    expect(names.flows.flatMap((f) => f.actions ?? []).filter((a) => a.kind === "output")).toContainEqual({
      kind: "output",
      text: "eth0",
      port: "eth0",
    });
  });

  it("reads dpif/dump-flows -m, whose ufid is followed by a space", () => {
    const doc = parseDatapathFlows(IC_DPIF_M);
    expect(doc.flows.every((f) => f.ufid !== null && f.dpLayer === null)).toBe(true);
    expect(doc.flows[0]?.match[0]?.key).toBe("skb_priority");
  });

  it("reads a -m tunnel key whose Geneve options carry masks", () => {
    const doc = parseDatapathFlows(IC_WORKER2_M);
    const tunnel = doc.flows[0]?.match.find((m) => m.key === "tunnel");
    expect(tunnel?.fields).toMatchObject({ tun_id: "0xff0003", ttl: "64/0", tp_dst: "6081/0" });
    expect(tunnel?.value).toContain("flags(-df+csum+key)");
  });
});

describe("the hotsos kernel dump (-m, ML2/OVS, VXLAN)", () => {
  const doc = parseDatapathFlows(HOTSOS);

  it("reads set(tunnel(...)) to a VXLAN port and names as output ports", () => {
    const flow = flowAtLine(doc, 3);
    expect(flow).toMatchObject({
      ufid: "afb82fb2-f85c-4122-aa4e-5dfd7169eae6",
      recircId: "0x6",
      inPort: "tap0e778df8-ca",
      dpLayer: "ovs",
      stats: { packets: 149, bytes: 15613, usedSeconds: 0.5, tcpFlags: null },
    });
    expect(flow.ctState).toEqual({ text: "0x1/0xf", set: ["new"], unset: ["est", "rel", "rpl"] });
    expect(flow.actions?.map((a) => a.kind)).toEqual([
      "ct",
      "set_tunnel",
      "output",
      "push_vlan",
      "output",
      "pop_vlan",
      "output",
      "output",
    ]);
    expect(tunnelOf(flow.actions ?? [])).toMatchObject({ vni: 0x4d1, dst: "10.0.0.114", src: "10.0.0.128" });
    expect(flow.match.find((m) => m.key === "skb_mark")?.value).toBe("0");
  });

  it("reads a fully masked eth_type and a drop", () => {
    const flow = flowAtLine(doc, 5);
    expect(flow.match.find((m) => m.key === "eth_type")?.value).toBe("0/0xffff");
    expect(flow.actions).toEqual([{ kind: "drop", text: "drop" }]);
    expect(flow.stats.packets).toBe(31800);
  });
});

describe("parseDatapathFlows on other input", () => {
  it("returns an empty document for empty output", () => {
    expect(parseDatapathFlows("")).toEqual({
      kind: "datapath-flows",
      headers: [],
      flows: [],
      elisions: [],
      unconsumed: [],
      lineCount: 0,
    });
  });

  it("reads the PMD thread headers of a DPDK datapath", () => {
    const line = PUBLIC.split("\n")[0] ?? "";
    const doc = parseDatapathFlows(
      `flow-dump from pmd on cpu core: 2\n${line}\nflow-dump from the main thread:\n${line}\n`,
    );
    expect(doc.headers.map((h) => h.pmdCore)).toEqual([2, null]);
    expect(doc.flows).toHaveLength(2);
  });

  it("reads offloaded flows, used:never and flags it does not know", () => {
    const doc = parseDatapathFlows(
      "ufid:1f9b1716-2986-4828-b465-4690e929d7fd, recirc_id(0),in_port(2),eth_type(0x0800),ipv4(frag=no), " +
        "packets:10, bytes:600, used:never, offloaded:yes, dp:tc, future:1, actions:3\n",
    );
    expect(doc.flows[0]).toMatchObject({
      offloaded: "yes",
      dpLayer: "tc",
      other: [{ key: "future", value: "1" }],
      stats: { usedSeconds: null, tcpFlags: null },
      actions: [{ kind: "output", port: 3 }],
    });
  });

  it("keeps unbalanced actions as text", () => {
    const doc = parseDatapathFlows(
      "recirc_id(0),in_port(2), packets:0, bytes:0, used:never, actions:ct(zone=1\n",
    );
    expect(doc.flows[0]).toMatchObject({ actionsText: "ct(zone=1", actions: null });
  });

  it("rejects text that is not a datapath flow dump", () => {
    expect(() => parseDatapathFlows("ovs-vswitchd: no datapath\n")).toThrow(ParseError);
    expect(() => parseDatapathFlows(fixtureText("openflow/ovn-worker_breth0.flows.txt"))).toThrow(
      /line 1: not datapath flow dump/,
    );
  });

  it("rejects a flow cut before its counters, naming the line", () => {
    const lines = PUBLIC.split("\n");
    const cut = [lines[0], (lines[2] ?? "").slice(0, (lines[2] ?? "").indexOf(", bytes:"))].join("\n");
    expect(() => parseDatapathFlows(cut)).toThrow(
      /line 2: malformed datapath flow \(no packets:\/bytes:\/used:/,
    );
    expect(() => parseDatapathFlows(`${lines[0] ?? ""}\nrecirc_id(0),in_port(3, packets:1\n`)).toThrow(
      /line 2: malformed datapath flow/,
    );
  });

  it("lists lines it does not know as unconsumed", () => {
    const doc = parseDatapathFlows(`${PUBLIC}ovs-appctl: transaction error\n`);
    expect(doc.flows).toHaveLength(3);
    expect(doc.unconsumed).toEqual([{ line: 6, text: "ovs-appctl: transaction error" }]);
  });

  it("decodes ct_state in both forms", () => {
    expect(parseCtState("0x22")).toEqual({
      text: "0x22",
      set: ["est", "trk"],
      unset: ["new", "rel", "rpl", "inv", "snat", "dnat"],
    });
    expect(parseCtState("+trk+dnat")).toEqual({ text: "+trk+dnat", set: ["trk", "dnat"], unset: [] });
    expect(parseCtState("what")).toEqual({ text: "what", set: [], unset: [] });
  });

  it("rejects long mangled lines in linear time", () => {
    const start = performance.now();
    expect(() =>
      parseDatapathFlows(`recirc_id(${"(".repeat(100_000)}), packets:1, bytes:1, used:never, actions:drop\n`),
    ).toThrow(ParseError);
    expect(() => parseDatapathFlows(`in_port(1),${"a(1),".repeat(50_000)}, packets:x\n`)).toThrow(ParseError);
    expect(
      parseDatapathFlows(`in_port(1), packets:1, bytes:1, used:never, actions:${"+".repeat(100_000)}\n`)
        .flows,
    ).toHaveLength(1);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("parses 10,000+ flows quickly", () => {
    const big = DUALSTACK.repeat(900);
    const start = performance.now();
    expect(parseDatapathFlows(big).flows).toHaveLength(12 * 900);
    expect(performance.now() - start).toBeLessThan(3000);
  });
});

describe("looksLikeDatapathFlows", () => {
  it("rejects other ovs/ovn outputs", () => {
    expect(looksLikeDatapathFlows(fixtureText("openflow/ovn-worker_breth0.flows.txt"))).toBe(false);
    expect(looksLikeDatapathFlows(fixtureText("openflow/ovn-worker_br-int.groups.txt"))).toBe(false);
    expect(
      looksLikeDatapathFlows(fixtureText("ofproto-trace/ovn-lab_20-ofproto-trace-SRC-ovn-worker-A-to-B.txt")),
    ).toBe(false);
    expect(looksLikeDatapathFlows("hello\nworld\n")).toBe(false);
  });
});

describe("parse -o text of datapath flows", () => {
  it("counts the flows, packets, recirculation ids and actions", () => {
    expect(summarizeParsed(parseDatapathFlows(PUBLIC))).toBe(
      [
        "datapath flows: 3 flows, 100963 packets, 9093358 bytes",
        "  recirculation ids: 0 0x2a 0x2b",
        "  actions: 1 output, 0 drop, 3 ct, 2 recirc, 0 tunnel",
      ].join("\n"),
    );
    expect(summarizeParsed(parseDatapathFlows(`${PUBLIC}junk\n`))).toContain(
      "1 line(s) not understood:\n  6: junk",
    );
  });
});

describe("parseDatapathFlows fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseDatapathFlows, accountedLines, {
      seed: 0xd0f1,
      sources: Object.values(ALL),
      alphabet: '(),=/:+- \n0x9"{}.actions:packets:ufid:recirc_id(',
      windowLines: 8,
    });
  });
});
