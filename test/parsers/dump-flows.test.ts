import { describe, expect, it } from "vitest";
import type { DumpFlowsDocument, OpenFlowFlow } from "../../src/model/openflow.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeDumpFlows, parseDumpFlows } from "../../src/parsers/dump-flows.js";
import { splitTopLevelCommas } from "../../src/parsers/text.js";
import { expectLosslessParses, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/openflow/README.md.
function fixture(name: string): string {
  return fixtureText(`openflow/${name}`);
}

const STATS = fixture("ovn-worker_br-int.flows.txt");
const NO_STATS = fixture("ovn-worker_br-int.flows.noStats.txt");
const BRETH0 = fixture("ovn-worker_breth0.flows.txt");
const OF13 = fixture("lab-dualstack_ovn-worker_br-int.flows.OF13_FIRST-200-LINES.txt");
const NAMES = fixture("lab-dualstack_ovn-worker_br-int.flows.names-no-stats_FIRST-200-LINES.txt");
const EDGE_OF10 = fixture("lab_br-edge.flows.OF10.txt");
const EDGE_OF15 = fixture("lab_br-edge.flows.OF15.txt");
const EDGE_NO_STATS = fixture("lab_br-edge.flows.no-stats.txt");
const EDGE_NAMES = fixture("lab_br-edge.flows.names-no-stats.txt");
const ICMP_EXCERPT = fixture("ovs-ofctl-dump-flows_ovn-br-int_icmp-filter_EXCERPT.txt");
const HAIRPIN_EXCERPT = fixture("ovs-ofctl-dump-flows_ovnk_breth0_masquerade-hairpin_EXCERPT.txt");

const ALL = {
  STATS,
  NO_STATS,
  BRETH0,
  OF13,
  NAMES,
  EDGE_OF10,
  EDGE_OF15,
  EDGE_NO_STATS,
  EDGE_NAMES,
  ICMP_EXCERPT,
  HAIRPIN_EXCERPT,
};

function flowAtLine(doc: DumpFlowsDocument, line: number): OpenFlowFlow {
  const flow = doc.flows.find((f) => f.source.line === line);
  if (flow === undefined) throw new Error(`no flow at line ${line}`);
  return flow;
}

function accountedLines(doc: DumpFlowsDocument): SourceRef[] {
  return [...[...doc.headers, ...doc.flows, ...doc.elisions].map((r) => r.source), ...doc.unconsumed];
}

describe("parseDumpFlows on real outputs", () => {
  it("accounts for every line of every fixture", () => {
    expectLosslessParses(ALL, parseDumpFlows, accountedLines);
  });

  it("reads the with-stats br-int dump: 3 replies, one flow per line", () => {
    const doc = parseDumpFlows(STATS);
    expect(doc.kind).toBe("dump-flows");
    expect(doc.lineCount).toBe(1341);
    expect(doc.flows).toHaveLength(1338);
    expect(doc.headers.map((h) => [h.source.line, h.message, h.version, h.xid, h.more])).toEqual([
      [1, "NXST_FLOW", undefined, "0x4", true],
      [401, "NXST_FLOW", undefined, "0x4", true],
      [885, "NXST_FLOW", undefined, "0x4", false],
    ]);
  });

  it("reads the kube-dns VIP flow that sends UDP 10.96.0.10:53 to group 1", () => {
    const flow = flowAtLine(parseDumpFlows(STATS), 533);
    expect(flow).toMatchObject({ cookie: "0x1fde769", table: 20, priority: 120 });
    expect(flow.match).toEqual([
      { field: "ct_state", value: "+new+trk" },
      { field: "udp" },
      { field: "metadata", value: "0x6" },
      { field: "nw_dst", value: "10.96.0.10" },
      { field: "tp_dst", value: "53" },
    ]);
    expect(flow.actions).toEqual(["load:0->NXM_NX_XXREG0[97]", "group:1"]);
    expect(flow.stats).toEqual({
      durationSeconds: 7.528,
      nPackets: 1,
      nBytes: 106,
      idleAge: 3,
      flags: [],
      other: [],
    });
  });

  it("keeps ct(...) with its nested zone range and nat as one action", () => {
    const flow = flowAtLine(parseDumpFlows(STATS), 404);
    expect(flow).toMatchObject({ cookie: "0x5def3196", table: 15, priority: 70 });
    expect(flow.match.map((m) => m.field)).toEqual(["ct_state", "ct_mark", "ip", "metadata"]);
    expect(flow.actions).toEqual([
      "load:0x1->NXM_NX_REG10[9]",
      "ct(commit,table=16,zone=NXM_NX_REG11[0..15],nat)",
    ]);
    expect(flow.actionsText).toBe(
      "load:0x1->NXM_NX_REG10[9],ct(commit,table=16,zone=NXM_NX_REG11[0..15],nat)",
    );
    expect(flow.actionsBalanced).toBe(true);
  });

  it("keeps controller(userdata=...) whole", () => {
    const flow = flowAtLine(parseDumpFlows(STATS), 80);
    expect(flow).toMatchObject({ cookie: "0x581de64", table: 10, priority: 90 });
    expect(flow.stats).toMatchObject({ nPackets: 1, nBytes: 42, idleAge: 5 });
    expect(flow.actions).toContain("controller(userdata=00.00.00.01.00.00.00.00)");
    expect(flow.actions.at(-1)).toBe("resubmit(,11)");
  });

  it("reads the --no-stats form: zero cookie and table 0 are left out", () => {
    const doc = parseDumpFlows(NO_STATS);
    expect(doc.headers).toEqual([]);
    expect(doc.flows).toHaveLength(1338);
    const tunnel = flowAtLine(doc, 3);
    expect(tunnel).toMatchObject({
      cookie: "0x0",
      table: 0,
      priority: 100,
      match: [{ field: "in_port", value: "1" }],
    });
    expect(tunnel.actions.at(-1)).toBe("resubmit(,40)");
    expect(tunnel.stats).toEqual({ flags: [], other: [] });
    const vlanDrop = flowAtLine(doc, 10);
    expect(vlanDrop).toMatchObject({ cookie: "0x24063244", table: 8, priority: 100, actions: ["drop"] });
    expect(vlanDrop.match).toEqual([
      { field: "metadata", value: "0x6" },
      { field: "vlan_tci", value: "0x1000/0x1000" },
    ]);
  });

  it("finds the same flows in the with-stats and --no-stats dumps of the same snapshot", () => {
    const key = (f: OpenFlowFlow): string =>
      JSON.stringify([f.cookie, f.table, f.priority, f.match, f.actions, f.stats.idleTimeout]);
    const withStats = parseDumpFlows(STATS).flows.map(key).sort();
    const noStats = parseDumpFlows(NO_STATS).flows.map(key).sort();
    expect(noStats).toEqual(withStats);
  });

  it("reads breth0: the Geneve-to-LOCAL flow and the NORMAL fallback", () => {
    const doc = parseDumpFlows(BRETH0);
    expect(doc.flows).toHaveLength(2);
    const [geneve, normal] = doc.flows;
    expect(geneve?.match).toEqual([
      { field: "udp" },
      { field: "in_port", value: "1" },
      { field: "nw_dst", value: "172.18.0.3" },
      { field: "tp_dst", value: "6081" },
    ]);
    expect(geneve?.actions).toEqual(["LOCAL"]);
    expect(normal).toMatchObject({ priority: 0, match: [], actions: ["NORMAL"] });
    expect(normal?.stats).toMatchObject({ durationSeconds: 8.939, nPackets: 16, nBytes: 1056, idleAge: 1 });
  });

  it("reads the OpenFlow 1.3 header and set_field actions", () => {
    const doc = parseDumpFlows(OF13);
    expect(doc.headers[0]).toMatchObject({ message: "OFPST_FLOW", version: "OF1.3", xid: "0x2", more: true });
    expect(doc.flows).toHaveLength(199);
    const first = doc.flows[0];
    expect(first).toMatchObject({
      cookie: "0x52b00c35",
      table: 0,
      priority: 180,
      actions: ["conjunction(100,2/2)"],
    });
    expect(first?.stats.durationSeconds).toBe(10.123);
    expect(first?.stats.idleAge).toBeUndefined();
    expect(doc.flows[1]?.actions[0]).toBe("set_field:0x13->reg13");
  });

  it("keeps --names port names quoted as printed", () => {
    const flow = flowAtLine(parseDumpFlows(NAMES), 2);
    expect(flow.match).toContainEqual({ field: "in_port", value: '"patch-br-int-to"' });
    expect(flow.cookie).toBe("0x52b00c35");
  });

  it("reads timeouts, flags, importance and hard_age", () => {
    const of15 = parseDumpFlows(EDGE_OF15);
    expect(of15.headers[0]).toMatchObject({ message: "OFPST_FLOW", version: "OF1.5" });
    const lb = flowAtLine(of15, 3);
    expect(lb).toMatchObject({ cookie: "0xdeadbeefcafe0001", priority: 500 });
    expect(lb.stats).toMatchObject({
      idleTimeout: 300,
      hardTimeout: 600,
      importance: 7,
      idleAge: 9,
      flags: ["send_flow_rem", "check_overlap"],
    });
    expect(lb.match).toEqual([
      { field: "tcp" },
      { field: "in_port", value: "1" },
      { field: "nw_src", value: "10.0.0.0/8" },
      { field: "tp_dst", value: "0x50/0xfff0" },
    ]);
    expect(lb.actions).toEqual([
      "ct(commit,zone=5,nat(src=192.168.0.1-192.168.0.9:1000-2000,random))",
      "output:2",
    ]);
    expect(flowAtLine(of15, 7).stats.flags).toEqual(["reset_counts"]);
    expect(flowAtLine(parseDumpFlows(EDGE_OF10), 8).stats).toMatchObject({ idleAge: 9, hardAge: 1 });
  });

  it("reads a flow with neither priority nor match", () => {
    const normal = flowAtLine(parseDumpFlows(EDGE_OF15), 2);
    expect(normal).toMatchObject({
      cookie: "0x0",
      table: 0,
      priority: 32768,
      match: [],
      actions: ["NORMAL"],
    });
    const bare = flowAtLine(parseDumpFlows(EDGE_NO_STATS), 1);
    expect(bare).toMatchObject({ cookie: "0x0", table: 0, priority: 32768, match: [], actions: ["NORMAL"] });
  });

  it("respects parentheses in match values and nested actions", () => {
    const doc = parseDumpFlows(EDGE_OF10);
    expect(flowAtLine(doc, 6).match).toEqual([{ field: "packet_type", value: "(1,0x800)" }]);
    expect(flowAtLine(doc, 4).actions).toEqual([
      "ct(commit,table=3,zone=NXM_NX_REG13[0..15],nat(dst=[fd00::5]:8080))",
      "learn(table=10,idle_timeout=60,NXM_OF_VLAN_TCI[0..11],NXM_OF_ETH_DST[]=NXM_OF_ETH_SRC[],output:NXM_OF_IN_PORT[])",
    ]);
    expect(flowAtLine(doc, 5).actions).toEqual([
      "controller(userdata=00.00.00.0c.00.00.00,pause,meter_id=1)",
      "note:00.01.02.00.00.00",
    ]);
    expect(flowAtLine(doc, 10).actions).toEqual([
      "multipath(eth_src,50,modulo_n,1,0,NXM_NX_REG0[0..1])",
      "check_pkt_larger(1514)->NXM_NX_REG0[6]",
      "clone(mod_nw_dst:10.0.0.2,output:1)",
    ]);
  });

  it("does not split a quoted port name that contains a comma", () => {
    const doc = parseDumpFlows(EDGE_NAMES);
    expect(flowAtLine(doc, 2).match).toContainEqual({ field: "in_port", value: '"p,1"' });
    expect(flowAtLine(doc, 7).actions).toEqual(['output:"p,1"', "output:p2", "LOCAL"]);
    expect(flowAtLine(doc, 8).actions[1]).toBe('bundle(eth_src,0,hrw,ofport,members:"p,1",p2)');
  });

  it("reads the OpenStack excerpt, whose last line lost a parenthesis as published", () => {
    const doc = parseDumpFlows(ICMP_EXCERPT);
    expect(doc.flows).toHaveLength(4);
    expect(doc.flows[0]).toMatchObject({ cookie: "0xea0be1f0", table: 11, priority: 90 });
    expect(doc.flows[0]?.match).toContainEqual({ field: "nw_dst", value: "10.10.54.165" });
    expect(doc.flows[0]?.actionsBalanced).toBe(true);
    const cut = doc.flows[3];
    expect(cut).toMatchObject({ cookie: "0xb460c36f", table: 44, priority: 2002, actionsBalanced: false });
    expect(cut?.actions).toEqual(["load:0x1->NXM_NX_XXREG0[97]", "resubmit(,45"]);
  });

  it("reads the ovn-k hairpin excerpt: blank line, match-less flows, quoted port", () => {
    const doc = parseDumpFlows(HAIRPIN_EXCERPT);
    expect(doc.lineCount).toBe(9);
    expect(doc.flows).toHaveLength(8);
    expect(doc.flows[0]?.match).toContainEqual({ field: "in_port", value: '"patch-breth0_ov"' });
    expect(doc.flows[0]?.actions).toEqual(["ct(commit,table=4,zone=64001,nat(dst=172.18.0.3))"]);
    expect(flowAtLine(doc, 6)).toMatchObject({
      table: 2,
      priority: 32768,
      match: [],
      actions: ["set_field:02:42:ac:12:00:03->eth_dst", 'output:"patch-breth0_ov"'],
    });
    expect(flowAtLine(doc, 8)).toMatchObject({ table: 4, priority: 32768, match: [{ field: "ip" }] });
  });

  it("parses 10,000+ flows quickly", () => {
    const big = STATS.repeat(8);
    const start = performance.now();
    const doc = parseDumpFlows(big);
    const elapsed = performance.now() - start;
    expect(doc.flows).toHaveLength(1338 * 8);
    expect(elapsed).toBeLessThan(3000);
  });
});

describe("parseDumpFlows on other input", () => {
  it("returns an empty document for empty output", () => {
    expect(parseDumpFlows("")).toEqual({
      kind: "dump-flows",
      headers: [],
      flows: [],
      elisions: [],
      unconsumed: [],
      lineCount: 0,
    });
  });

  it("rejects text that is not a flow dump", () => {
    const error = catchError(() => parseDumpFlows("ovs-ofctl: br-int is not a bridge or a socket\n"));
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ line: 1 });
  });

  it("rejects a flow cut before its actions, naming the line", () => {
    const lines = BRETH0.split("\n");
    const cut = [...lines.slice(0, 2), (lines[2] ?? "").slice(0, 60)].join("\n");
    const error = catchError(() => parseDumpFlows(cut));
    expect(error).toBeInstanceOf(ParseError);
    expect(error).toMatchObject({ line: 3 });
  });

  it("rejects long mangled lines in linear time", () => {
    const start = performance.now();
    expect(() => parseDumpFlows(` cookie=0x1, ${"(".repeat(100_000)} actions=drop\n`)).toThrow(ParseError);
    expect(() => parseDumpFlows(` priority=1,${"a=1,".repeat(50_000)}`)).toThrow(ParseError);
    expect(performance.now() - start).toBeLessThan(500);
  });

  it("lists lines it does not know as unconsumed", () => {
    const doc = parseDumpFlows(`${BRETH0}OFPT_ERROR (xid=0x5): OFPBRC_EPERM\n`);
    expect(doc.flows).toHaveLength(2);
    expect(doc.unconsumed).toEqual([{ line: 4, text: "OFPT_ERROR (xid=0x5): OFPBRC_EPERM" }]);
  });

  it("splits at top-level commas only", () => {
    expect(splitTopLevelCommas('a(b,c),d[1,2],"e,f",g')).toEqual({
      parts: ["a(b,c)", "d[1,2]", '"e,f"', "g"],
      balanced: true,
    });
    expect(splitTopLevelCommas("a(b,c")).toEqual({ parts: ["a(b,c"], balanced: false });
    expect(splitTopLevelCommas("")).toEqual({ parts: [], balanced: true });
  });
});

describe("looksLikeDumpFlows", () => {
  it("recognizes every flow fixture", () => {
    for (const [name, text] of Object.entries(ALL)) expect(looksLikeDumpFlows(text), name).toBe(true);
  });

  it("rejects other ovs/ovn outputs", () => {
    expect(looksLikeDumpFlows(fixture("ovn-worker_br-int.groups.txt"))).toBe(false);
    expect(looksLikeDumpFlows(fixture("ovn-worker_br-int.tlv-map.txt"))).toBe(false);
    const lflowOvs = fixtureText("lflow-list/lab-dualstack_ovn-worker_lflow-list--ovs--stats--uuid.txt");
    expect(looksLikeDumpFlows(lflowOvs)).toBe(false);
    expect(looksLikeDumpFlows("hello\nworld\n")).toBe(false);
  });
});

describe("parseDumpFlows fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseDumpFlows, accountedLines, {
      seed: 0x0f10,
      sources: Object.values(ALL),
      alphabet: '(),=[] "\n:/.x0-actions=priority=cookie=table=',
      windowLines: 60,
    });
  });
});

function catchError(body: () => unknown): unknown {
  try {
    body();
  } catch (e) {
    return e;
  }
  throw new Error("expected an error");
}
