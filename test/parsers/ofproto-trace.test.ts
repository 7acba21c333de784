import { describe, expect, it } from "vitest";
import type {
  ActionLine,
  BridgeBlock,
  DatapathAction,
  NoteLine,
  OfprotoTraceDocument,
  TableStep,
  TraceItem,
  TracePass,
} from "../../src/model/ofproto-trace.js";
import type { SourceRef } from "../../src/model/source.js";
import { parseDatapathActions, tunnelOf, tunnelsOf } from "../../src/parsers/datapath-actions.js";
import {
  lastTableStep,
  looksLikeOfprotoTrace,
  parseOfprotoTrace,
  tableSteps,
} from "../../src/parsers/ofproto-trace.js";
import { fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectOnlyParseErrors, mutatedTexts, pick, randomInt, seededRandom } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";
import { splitLines } from "../../src/parsers/text.js";

// Real outputs; see test/fixtures/ofproto-trace/README.md for where each one comes from.
const ALL = fixtureNames("ofproto-trace");
const LEGACY = "public_ofproto-trace_LEGACY-pre-ovs2.7-format_russellb-2016.txt";
const TRACES = ALL.filter((f) => f !== LEGACY);
const DETRACED = TRACES.filter((f) => f.includes("detrace") && !f.includes("49b"));

function text(name: string): string {
  return fixtureText(`ofproto-trace/${name}`);
}

function fixture(prefix: string): string {
  const name = ALL.find((f) => f.startsWith(prefix));
  if (name === undefined) throw new Error(`no fixture ${prefix}`);
  return name;
}

function parse(prefix: string): OfprotoTraceDocument {
  return parseOfprotoTrace(text(fixture(prefix)));
}

function pass(doc: OfprotoTraceDocument, index: number): TracePass {
  const p = doc.passes[index];
  if (p === undefined) throw new Error(`no pass ${index}`);
  return p;
}

function steps(p: TracePass): TableStep[] {
  return tableSteps(p.bridges);
}

function step(p: TracePass, table: number, cookie: string | null, nth = 0): TableStep {
  const found = steps(p).filter((s) => s.table === table && s.cookie === cookie)[nth];
  if (found === undefined) throw new Error(`no step ${table}/${cookie}`);
  return found;
}

function actions(s: { items: readonly TraceItem[] }): ActionLine[] {
  return s.items.filter((i): i is ActionLine => i.kind === "action");
}

function notes(s: { items: readonly TraceItem[] }): string[] {
  return s.items.filter((i): i is NoteLine => i.kind === "note").map((n) => n.text);
}

function must<T>(value: T | null | undefined): T {
  if (value === null || value === undefined) throw new Error("missing");
  return value;
}

function nestedBridge(s: TableStep): BridgeBlock {
  const b = s.items.find((i): i is BridgeBlock => i.kind === "bridge");
  if (b === undefined) throw new Error("no nested bridge");
  return b;
}

function dp(p: TracePass): readonly DatapathAction[] {
  return p.datapathActions.actions;
}

function only<K extends DatapathAction["kind"]>(
  list: readonly DatapathAction[],
  kind: K,
): Extract<DatapathAction, { kind: K }>[] {
  return list.filter((a): a is Extract<DatapathAction, { kind: K }> => a.kind === kind);
}

/** Every line number some record of the document points at. */
function accountedLines(doc: OfprotoTraceDocument): Set<number> {
  const lines = new Set<number>();
  const add = (s: SourceRef | null): void => {
    if (s !== null) lines.add(s.line);
  };
  const walk = (items: readonly TraceItem[]): void => {
    for (const item of items) {
      add(item.source);
      if (item.kind === "bridge") add(item.underline);
      if (item.kind === "table") {
        for (const a of item.annotations) {
          add(a.source);
          a.continuation.forEach((c) => {
            add(c.source);
          });
        }
      }
      if ("items" in item) walk(item.items);
    }
  };
  for (const p of doc.passes) {
    add(p.flow.source);
    add(p.finalFlow?.source ?? null);
    add(p.megaflow?.source ?? null);
    add(p.datapathActions.source);
    p.trailer.forEach((t) => {
      add(t.source);
      t.continuation.forEach(add);
    });
    if (p.recirc !== null) {
      add(p.recirc.source);
      p.recirc.separators.forEach(add);
      add(p.recirc.nat?.source ?? null);
      add(p.recirc.nat?.initial?.source ?? null);
      add(p.recirc.nat?.modified?.source ?? null);
    }
    walk(p.bridges);
  }
  doc.recirculationLimit?.lines.forEach(add);
  return lines;
}

describe("parseOfprotoTrace on every real fixture", () => {
  it.each(TRACES)("%s: parses losslessly", (name) => {
    const input = text(name);
    const doc = parseOfprotoTrace(input);
    expect(doc.kind).toBe("ofproto-trace");
    expect(doc.unconsumed).toEqual([]);
    const lines = splitLines(input);
    expect(doc.lineCount).toBe(lines.length);
    // Every non-blank line is some record's source.
    const accounted = accountedLines(doc);
    const missing = lines.flatMap((l, i) => (l.trim() === "" || accounted.has(i + 1) ? [] : [i + 1]));
    expect(missing).toEqual([]);
    // The first pass is the initial translation, every later one opens with its recirc(...) header.
    expect(pass(doc, 0).recirc).toBeNull();
    expect(doc.passes.slice(1).every((p) => p.recirc !== null)).toBe(true);
    expect(doc.passes.every((p) => p.flow.items.length > 0 && p.bridges.length === 1)).toBe(true);
    // Plain data only.
    expect(JSON.parse(JSON.stringify(doc))).toStrictEqual(doc);
  });

  it.each(DETRACED)("%s: attaches every ovn-detrace line to a step", (name) => {
    const doc = parseOfprotoTrace(text(name));
    const annotationLines = splitLines(text(name)).filter((l) => /^ *\*( |$)/.test(l)).length;
    const attached = doc.passes
      .flatMap(steps)
      .flatMap((s) => s.annotations)
      .reduce((n, a) => n + 1 + a.continuation.length, 0);
    expect(doc.detraced).toBe(true);
    expect(attached).toBe(annotationLines);
  });

  it("says when ovn-detrace stripped the indentation", () => {
    expect(parse("ovn-lab_40").indentationLost).toBe(true);
    expect(parse("ovnk-ic_49-").indentationLost).toBe(true);
    expect(parse("ovn-lab_20").indentationLost).toBe(false);
    // Published de-indented by 4: the tables lost their alignment, the actions kept their indent.
    expect(parse("public_ofproto-trace_ovnk-kind").indentationLost).toBe(false);
  });
});

describe("source hop A→B (ovn-lab 20, userspace datapath)", () => {
  const doc = parse("ovn-lab_20");
  const first = pass(doc, 0);
  const second = pass(doc, 1);

  it("keeps the Flow line raw and as ordered items", () => {
    expect(doc.passes).toHaveLength(2);
    expect(first.flow.text).toBe(
      "udp,in_port=5,vlan_tci=0x0000,dl_src=0a:58:0a:f4:01:03,dl_dst=0a:58:0a:f4:01:01,nw_src=10.244.1.3," +
        "nw_dst=10.244.2.3,nw_tos=0,nw_ecn=0,nw_ttl=64,nw_frag=no,tp_src=33333,tp_dst=53",
    );
    expect(first.flow.protocol).toBe("udp");
    expect(first.flow.items.slice(0, 2)).toEqual([
      { name: "udp", value: null },
      { name: "in_port", value: "5" },
    ]);
    expect(first.flow.values).toMatchObject({ nw_src: "10.244.1.3", nw_dst: "10.244.2.3", tp_dst: "53" });
    // After the recirculation the flow carries the conntrack state and `eth` before the protocol.
    expect(second.flow.values).toMatchObject({ recirc_id: "0x1", ct_state: "new|trk", ct_zone: "22" });
    expect(second.flow.protocol).toBe("udp");
  });

  it("reads the numbered table steps", () => {
    const s0 = must(steps(first)[0]);
    expect(s0).toMatchObject({
      table: 0,
      match: "in_port=5",
      priority: 100,
      cookie: "0x6bdcebac",
      miss: null,
      bridge: "br-int",
      depth: 0,
    });
    expect(actions(s0).map((a) => a.text)).toEqual([
      "set_field:0x16->reg13",
      "set_field:0x2->reg11",
      "set_field:0x8->reg12",
      "set_field:0x6->metadata",
      "set_field:0x3->reg14",
      "resubmit(,8)",
    ]);
    expect(actions(s0).at(-1)).toMatchObject({ name: "resubmit", resubmitTable: 8 });
    expect(steps(first)[1]).toMatchObject({
      table: 8,
      match: "metadata=0x6",
      priority: 50,
      cookie: "0x4af84e96",
    });
    expect(first.bridges[0]).toMatchObject({ name: "br-int", nested: false, underline: { line: 4 } });
  });

  it("nests a resubmit that is not the rule's last action under its step", () => {
    const s8 = step(first, 8, "0x4af84e96");
    const s73 = step(first, 73, "0x6bdcebac");
    expect(s8.items.map((i) => i.kind)).toEqual(["action", "action", "table", "action", "note", "action"]);
    expect(s8.items[2]).toBe(s73);
    expect(s73).toMatchObject({
      match: "ip,reg14=0x3,metadata=0x6,dl_src=0a:58:0a:f4:01:03,nw_src=10.244.1.3",
      priority: 90,
      depth: 1,
    });
    // The `move` after the nested step is back at the outer step's indentation.
    expect(actions(s8).map((a) => a.text)).toContain("move:NXM_NX_REG10[12]->NXM_NX_XXREG0[111]");
    expect(notes(s8)).toEqual(["NXM_NX_XXREG0[111] is now 0"]);
    // `No match.` steps in the second pass.
    const miss = step(second, 68, null);
    expect(miss).toMatchObject({ match: null, priority: null, miss: "No match.", depth: 1 });
    expect(actions(miss).map((a) => a.text)).toEqual(["drop"]);
  });

  it("ends the first pass in ct + recirc with the conntrack notes", () => {
    const last = must(lastTableStep(first));
    expect(last).toMatchObject({ table: 14, priority: 110, cookie: "0xbbbfc5f8" });
    expect(notes(last)).toEqual([
      "A clone of the packet is forked to recirculate. The forked pipeline will be resumed at table 15.",
      "Sets the packet to an untracked state, and clears all the conntrack fields.",
    ]);
    expect(first.datapathActions.text).toBe("ct(zone=22,nat),recirc(0x1)");
    expect(dp(first)).toEqual([
      {
        kind: "ct",
        text: "ct(zone=22,nat)",
        zone: 22,
        commit: false,
        forceCommit: false,
        mark: null,
        label: null,
        nat: {
          text: "nat",
          direction: null,
          addr: null,
          addrMax: null,
          port: null,
          portMax: null,
          flags: [],
        },
        helper: null,
        options: ["zone=22", "nat"],
      },
      { kind: "recirc", text: "recirc(0x1)", id: "0x1" },
    ]);
  });

  it("reads the recirculation header and the thaw", () => {
    expect(second.recirc).toMatchObject({
      recircId: "0x1",
      ctState: "new|trk",
      ctStateDefault: false,
      nat: { initial: { text: "", items: [] }, modified: { text: "", items: [] } },
    });
    expect(second.recirc?.separators.map((s) => s.line)).toEqual([41, 46]);
    const thaw = second.bridges[0]?.items[0];
    expect(thaw).toMatchObject({ kind: "thaw", resumeTable: 15, restoringActions: null });
    expect(steps(second)[0]).toMatchObject({ table: 15, depth: 0, cookie: "0xe9202d9d" });
  });

  it("nests the clone into the router and the remote switch, and the patch port into breth0", () => {
    const s64 = step(second, 64, "0xca589fb8");
    const s65 = step(second, 65, "0xca589fb8");
    expect(s64.items).toContain(s65);
    const clone = actions(s65)[0];
    expect(clone?.name).toBe("clone");
    expect(clone?.cloneActions?.[0]).toBe("ct_clear");
    expect(clone?.cloneActions?.at(-1)).toBe("resubmit(,8)");
    expect(clone?.cloneActions).toHaveLength(21);
    // The tunnel output step of the remote switch (metadata 0x9), two levels down.
    const s39 = step(second, 39, "0x172c557e");
    expect(s39).toMatchObject({ depth: 2, match: "reg15=0x3,metadata=0x9", priority: 100 });
    expect(s65.items).toContain(s39);
    expect(notes(s39)).toEqual([
      "NXM_NX_TUN_METADATA0[16..30] is now 0x1",
      "output to native tunnel",
      "tunneling to 172.18.0.4 via breth0",
      "tunneling from 02:42:ac:12:00:03 172.18.0.3 to 02:42:ac:12:00:04 172.18.0.4",
    ]);
    const breth0 = nestedBridge(s39);
    expect(breth0).toMatchObject({ name: "breth0", nested: true, underline: { line: 379 } });
    const normal = must(tableSteps(breth0.items)[0]);
    expect(normal).toMatchObject({ table: 0, priority: 0, cookie: null, bridge: "breth0", depth: 3 });
    expect(actions(normal).map((a) => a.text)).toEqual(["NORMAL"]);
    expect(notes(normal)).toEqual(["forwarding to learned port"]);
    // After the nested bridge the step goes on (`resubmit(,40)`), then table 40 drops the original.
    expect(actions(s39).at(-1)?.text).toBe("resubmit(,40)");
    expect(lastTableStep(second)).toMatchObject({ table: 40, depth: 2, priority: 0 });
    // Back at the first step's indentation.
    expect(actions(s64).at(-1)?.text).toBe("pop:NXM_OF_IN_PORT[]");
    expect(notes(s64)).toEqual(["NXM_OF_IN_PORT[] is now 5"]);
  });

  it("decodes tnl_push: remote chassis 172.18.0.4, VNI 0x9, OVN ports 1 → 3", () => {
    const actionsOut = dp(second);
    expect(actionsOut.map((a) => a.kind)).toEqual(["ct", "set", "set", "tnl_push", "output"]);
    expect(only(actionsOut, "ct")[0]).toMatchObject({
      zone: 22,
      commit: true,
      mark: "0/0x1",
      nat: { direction: "src", addr: null },
    });
    expect(only(actionsOut, "set")).toMatchObject([
      { header: "eth", fields: { src: "0a:58:0a:f4:02:01", dst: "0a:58:0a:f4:02:03" } },
      { header: "ipv4", fields: { ttl: "63" } },
    ]);
    expect(only(actionsOut, "tnl_push")[0]?.tunnel).toEqual({
      via: "tnl_push",
      type: "geneve",
      vni: "0x9",
      src: "172.18.0.3",
      dst: "172.18.0.4",
      ethSrc: "02:42:ac:12:00:03",
      ethDst: "02:42:ac:12:00:04",
      ttl: 64,
      tos: 0,
      tpSrc: 0,
      tpDst: 6081,
      geneveOptions: [{ class: "0x102", type: "0x80", length: 4, value: "0x10003" }],
      flags: ["crit"],
      outPort: 100,
      tunnelPort: 6081,
    });
    expect(actionsOut.at(-1)).toEqual({ kind: "output", text: "1", port: 1 });
    expect(tunnelOf(actionsOut)).toMatchObject({
      vni: 9,
      dst: "172.18.0.4",
      src: "172.18.0.3",
      ovnIngressPortKey: 1,
      ovnEgressPortKey: 3,
    });
  });
});

describe("other source hops", () => {
  it("ovn-lab 23 (B→A reply) carries option 0x20003: ingress 2, egress 3, VNI 0x6", () => {
    const t = tunnelOf(dp(pass(parse("ovn-lab_23"), 1)));
    expect(t).toMatchObject({ vni: 6, dst: "172.18.0.3", ovnIngressPortKey: 2, ovnEgressPortKey: 3 });
    expect(t?.tunnel.geneveOptions[0]?.value).toBe("0x20003");
  });

  it("ovnk interconnect 30: transit switch VNI 0xff0003, ports 3 → 4", () => {
    const t = tunnelOf(dp(pass(parse("ovnk-ic_30"), 1)));
    expect(t).toMatchObject({ vni: 0xff0003, dst: "172.18.0.4", ovnIngressPortKey: 3, ovnEgressPortKey: 4 });
    expect(t?.tunnel.vni).toBe("0xff0003");
  });

  it("kernel datapath (published ovn-kubernetes trace): set(tunnel(...)) gives the same tunnel fields", () => {
    const doc = parse("public_ofproto-trace_ovnk-ic");
    const second = pass(doc, 1);
    expect(second.recirc).toMatchObject({ recircId: "0x12", ctState: "trk|new", ctStateDefault: true });
    const out = step(second, 40, "0xb6badb74");
    expect(out.depth).toBe(2);
    expect(notes(out)).toContain("output to kernel tunnel");
    const list = dp(second);
    expect(list.map((a) => a.kind)).toEqual(["ct", "set_tunnel", "set", "set", "output"]);
    expect(only(list, "set_tunnel")[0]?.tunnel).toEqual({
      via: "set_tunnel",
      type: "geneve",
      vni: "0xff0003",
      src: null,
      dst: "172.18.0.2",
      ethSrc: null,
      ethDst: null,
      ttl: 64,
      tos: null,
      tpSrc: null,
      tpDst: 6081,
      geneveOptions: [{ class: "0x102", type: "0x80", length: 4, value: "0x20004" }],
      flags: ["df", "csum", "key"],
      outPort: null,
      tunnelPort: null,
    });
    expect(tunnelOf(list)).toMatchObject({
      vni: 0xff0003,
      dst: "172.18.0.2",
      src: null,
      ovnIngressPortKey: 2,
      ovnEgressPortKey: 4,
    });
    expect(list.at(-1)).toEqual({ kind: "output", text: "5", port: 5 });
  });

  it("the anchors' kernel tunnel string decodes the same way on its own", () => {
    const anchor =
      "set(tunnel(tun_id=0xff0003,dst=172.18.0.2,ttl=64,tp_dst=6081," +
      "geneve({class=0x102,type=0x80,len=4,0x20004}),flags(df|csum|key))),2";
    // The published trace prints exactly this tunnel.
    expect(text(fixture("public_ofproto-trace_ovnk-ic"))).toContain(anchor.slice(0, -2));
    const list = parseDatapathActions(anchor);
    expect(list.map((a) => a.kind)).toEqual(["set_tunnel", "output"]);
    expect(tunnelOf(list)).toMatchObject({
      vni: 0xff0003,
      dst: "172.18.0.2",
      ovnIngressPortKey: 2,
      ovnEgressPortKey: 4,
    });
  });
});

describe("dropped destination hops", () => {
  it("ovn-lab 28: the default-deny ACL step 46 is the last one, Datapath actions: drop", () => {
    const doc = parse("ovn-lab_28");
    expect(doc.passes).toHaveLength(2);
    expect(dp(pass(doc, 0)).map((a) => a.text)).toEqual(["ct(zone=23,nat)", "recirc(0x4)"]);
    const second = pass(doc, 1);
    expect(second.recirc).toMatchObject({ recircId: "0x4", ctState: "new|trk", ctStateDefault: false });
    const last = must(lastTableStep(second));
    expect(last).toMatchObject({
      table: 46,
      match: "reg0=0x200/0x200,reg15=0x4,metadata=0x9",
      priority: 2000,
      cookie: "0xf477daf3",
      depth: 0,
    });
    expect(actions(last).map((a) => a.text)).toEqual(["drop"]);
    expect(second.datapathActions).toMatchObject({ text: "drop", actions: [{ kind: "drop", text: "drop" }] });
    // The tunnel receive step has no cookie.
    expect(steps(pass(doc, 0))[0]).toMatchObject({
      table: 0,
      match: "in_port=2",
      priority: 100,
      cookie: null,
    });
  });

  it("ovnk interconnect 39: the same drop on worker2's switch (metadata 0x2)", () => {
    const doc = parse("ovnk-ic_39");
    const first = pass(doc, 0);
    expect(dp(first).map((a) => a.kind)).toEqual(["set", "set", "ct", "recirc"]);
    expect(only(dp(first), "set")[1]).toMatchObject({ header: "ipv4", fields: { ttl: "62" } });
    expect(only(dp(first), "ct")[0]).toMatchObject({ zone: 9, commit: false });
    const second = pass(doc, 1);
    expect(second.recirc).toMatchObject({ recircId: "0x5", ctState: "new|trk" });
    expect(lastTableStep(second)).toMatchObject({
      table: 46,
      match: "reg0=0x200/0x200,reg15=0x4,metadata=0x2",
      priority: 2000,
      cookie: "0xd5aed172",
    });
    expect(dp(second)).toEqual([{ kind: "drop", text: "drop" }]);
  });
});

describe("ovn-detrace annotations", () => {
  it("ovn-lab 42 (dropped hop): attaches them to the step they follow", () => {
    const doc = parse("ovn-lab_42");
    const first = pass(doc, 0);
    expect(step(first, 0, null).annotations).toEqual([]);
    const s40 = step(first, 40, "0xfb0057d1");
    expect(s40.annotations).toHaveLength(2);
    expect(s40.annotations[0]).toMatchObject({
      label: "Logical datapath",
      text: '"ovn-worker2" (b6eca2dc-f9e1-4412-b6c0-3ea02e93676b)',
      hint: false,
      source: { line: 18 },
    });
    expect(s40.annotations[1]?.label).toBe("Port Binding");
    expect(s40.annotations[1]?.text).toMatch(/^logical_port "default_web", tunnel_key 4, /);
    const s44 = step(first, 44, "0x19b0767e");
    expect(s44.annotations.map((a) => a.label)).toEqual(["Logical datapaths", "Logical flow"]);
    expect(s44.annotations[0]?.continuation).toHaveLength(7);
    expect(s44.annotations[0]?.continuation[0]?.text).toBe(
      '"ovn-worker" (0a80fcc4-7065-4bba-9d7d-82639db6c309) [egress]',
    );
    expect(s44.annotations[1]?.text).toBe(
      "table=2 (ls_out_pre_stateful), priority=110, match=(reg0[2] == 1), actions=(ct_lb_mark;)",
    );

    const drop = lastTableStep(pass(doc, 1));
    expect(drop).toMatchObject({ table: 46, cookie: "0xf477daf3" });
    expect(drop?.annotations.map((a) => [a.label, a.hint, a.source.line])).toEqual([
      ["Logical datapaths", false, 89],
      ["Logical flow", false, 91],
      ["ACL", true, 92],
    ]);
    expect(drop?.annotations[2]?.text).toBe(
      "to-lport, priority=1000, match=(outport == @a_default_ingressDefaultDeny), drop",
    );
    expect(drop?.annotations[1]?.text).toContain("(ls_out_acl), priority=2000");
  });

  it("ovnk interconnect 49 (dropped hop, IPv6): the ACL hint under the drop step", () => {
    const drop = lastTableStep(pass(parse("ovnk-ic_49-"), 1));
    expect(drop).toMatchObject({ table: 46, cookie: "0xd5aed172" });
    expect(drop?.annotations.map((a) => a.label)).toEqual(["Logical datapaths", "Logical flow", "ACL"]);
    expect(drop?.annotations[0]?.continuation.map((c) => c.text)).toEqual([
      '"ovn-worker2" (b94b304d-2f8c-44e1-a9e5-cc7a2183a50c) [egress]',
    ]);
  });

  it("ovn-lab 40 (source hop): flat steps, each with its own annotations", () => {
    const first = pass(parse("ovn-lab_40"), 0);
    const s0 = step(first, 0, "0x6bdcebac");
    expect(s0.annotations.map((a) => a.label)).toEqual(["Logical datapath", "Port Binding"]);
    expect(s0.annotations[1]?.text).toMatch(/^logical_port "default_client", tunnel_key 3,/);
    const s8 = step(first, 8, "0x4af84e96");
    expect(s8.annotations.map((a) => a.label)).toEqual(["Logical datapaths", "Logical flow"]);
    expect(s8.annotations[1]?.text).toMatch(/^table=0 \(ls_in_check_port_sec\), priority=50,/);
    // Without indentation the resubmitted table 73 is a sibling, not nested.
    expect(step(first, 73, "0x6bdcebac").depth).toBe(0);
  });

  it("the wrong databases (ovnk 49b) annotate nothing", () => {
    const doc = parse("ovnk-ic_49b");
    expect(doc.detraced).toBe(false);
    expect(doc.passes.flatMap(steps).length).toBeGreaterThan(90);
  });

  it("older ovn-detrace (published, `*  Label:`) after a nested br-int bridge", () => {
    const doc = parse("public_ovn-detrace");
    const second = pass(doc, 1);
    expect(second.recirc).toMatchObject({ recircId: "0x1", ctState: "est|trk", nat: null });
    const s1 = step(second, 1, "0xdeff105");
    expect(actions(s1).map((a) => a.text)).toEqual(["NORMAL"]);
    expect(notes(s1)).toEqual(["no learned MAC for destination, flooding"]);
    const brInt = nestedBridge(s1);
    expect(brInt.name).toBe("br-int");
    const s8 = step(second, 8, "0x1937006c");
    expect(s8.bridge).toBe("br-int");
    expect(s8.annotations.map((a) => a.label)).toEqual([
      "Logical datapaths",
      "Logical flow",
      "Logical Switch Port",
    ]);
    expect(step(second, 38, "0xc218d347").annotations[1]).toMatchObject({
      label: "Multicast Group",
      text: 'name "_MC_unknown", tunnel_key 32769 ports: (breth0_ovn-worker)',
    });
  });
});

describe("recirculations, groups and thaw", () => {
  it("ovn-lab 25: group with no live bucket, then hash + recirc", () => {
    const second = pass(parse("ovn-lab_25"), 1);
    const s20 = step(second, 20, "0x1fde769");
    expect(actions(s20).map((a) => a.text)).toEqual([
      "set_field:0/0x2000000000000000000000000->xxreg0",
      "group:1",
    ]);
    expect(notes(s20)).toEqual(["no live bucket"]);
    expect(dp(second)).toEqual([
      { kind: "hash", text: "hash(l4(0))", algorithm: "l4", basis: 0 },
      { kind: "recirc", text: "recirc(0x4)", id: "0x4" },
    ]);
  });

  it("ovn-lab 26: restored actions, the chosen bucket and the simulated DNAT", () => {
    const doc = parse("ovn-lab_26-");
    const first = pass(doc, 0);
    const bridge = first.bridges[0];
    expect(bridge?.items.map((i) => i.kind)).toEqual([
      "thaw",
      "action",
      "action",
      "action",
      "note",
      "bucket",
    ]);
    expect(bridge?.items[0]).toMatchObject({
      kind: "thaw",
      resumeTable: 0,
      restoringActions: "unroll_xlate(table=20, cookie=33417065),group:1",
    });
    expect(bridge?.items[2]).toMatchObject({ name: "restored state" });
    const bucket = bridge?.items[5];
    expect(bucket).toMatchObject({ kind: "bucket", bucket: 1 });
    if (bucket?.kind !== "bucket") throw new Error("bucket");
    expect(actions(bucket)[1]?.text).toBe("nat(dst=10.244.2.3:53)");
    expect(only(dp(first), "ct")[0]).toMatchObject({
      zone: 22,
      commit: true,
      mark: "0x2/0x2",
      nat: { direction: "dst", addr: "10.244.2.3", port: 53, addrMax: null, portMax: null },
    });
    const second = pass(doc, 1);
    expect(second.recirc?.nat?.initial?.values).toEqual({
      nw_src: "10.244.1.3",
      tp_src: "40001",
      nw_dst: "10.96.0.10",
      tp_dst: "53",
    });
    expect(second.recirc?.nat?.modified?.values).toMatchObject({ nw_dst: "10.244.2.3", tp_dst: "53" });
  });

  it("ovnk interconnect 45 (IPv6): nat(dst=[addr]:port)", () => {
    const ct = only(dp(pass(parse("ovnk-ic_45-ofproto-SRC-ovn-worker-A-to-VIP-ipv6"), 0)), "ct")[0];
    expect(ct?.nat).toMatchObject({ direction: "dst", addr: "fd00:10:244:2::3", port: 53 });
  });

  it("ovn-lab 31: four passes through the gateway router with SNAT", () => {
    const doc = parse("ovn-lab_31");
    expect(doc.passes.map((p) => [p.recirc?.recircId, p.recirc?.ctState, p.recirc?.ctStateDefault])).toEqual([
      [undefined, undefined, undefined],
      ["0x8", "new|trk", false],
      ["0x9", "trk|new", true],
      ["0xa", "trk|new", true],
    ]);
    expect(only(dp(pass(doc, 2)), "ct")).toMatchObject([
      { zone: 15, commit: true, nat: { direction: "src", addr: null } },
      { zone: null, commit: true, nat: { direction: "src", addr: "172.18.0.3" } },
    ]);
    const last = pass(doc, 3);
    expect(last.recirc?.nat?.initial?.values.nw_src).toBe("10.244.1.3");
    expect(last.recirc?.nat?.modified?.values.nw_src).toBe("172.18.0.3");
    expect(last.finalFlow?.unchanged).toBe(true);
    expect(dp(last)).toEqual([
      { kind: "other", text: "ct_clear", name: "ct_clear" },
      { kind: "output", text: "100", port: 100 },
      { kind: "output", text: "1", port: 1 },
    ]);
    const out = step(last, 65, "0x1e50bc0d");
    expect(out.depth).toBe(4);
    const flood = must(tableSteps(nestedBridge(out).items)[0]);
    expect(notes(flood)).toEqual(["no learned MAC for destination, flooding"]);
  });

  it("three passes with --ct-next new,trk --ct-next est,trk (published, de-indented)", () => {
    const doc = parse("public_ofproto-trace_ovnk-kind");
    expect(doc.passes.map((p) => p.recirc?.ctState ?? null)).toEqual([null, "new|trk", "est|trk"]);
    expect(dp(pass(doc, 1)).map((a) => a.text)).toEqual([
      "ct(commit,zone=7,label=0/0x1)",
      "ct(zone=12,nat)",
      "recirc(0x3a)",
    ]);
    expect(only(dp(pass(doc, 1)), "ct")[0]).toMatchObject({ zone: 7, commit: true, label: "0/0x1" });
    expect(dp(pass(doc, 2))).toEqual([{ kind: "output", text: "277", port: 277 }]);
    expect(notes(step(pass(doc, 0), 15, "0x6f9c8080"))).toHaveLength(2);
  });

  it("OVS testsuite: groups nested three deep, then a patch port back into br0", () => {
    const doc = parse("public_ofproto-trace_ovs-testsuite_nsh_nested");
    const only0 = pass(doc, 0);
    const s0 = must(steps(only0)[0]);
    expect(s0).toMatchObject({ table: 0, match: "ip,in_port=1", priority: 32768, cookie: null });
    let items: readonly TraceItem[] = s0.items;
    for (const group of ["group:100", "group:200", "group:300"]) {
      expect(actions({ items }).map((a) => a.text)).toContain(group);
      const bucket = items.find((i) => i.kind === "bucket");
      expect(bucket).toMatchObject({ bucket: 0 });
      items = bucket?.kind === "bucket" ? bucket.items : [];
    }
    const br0 = items.find((i): i is BridgeBlock => i.kind === "bridge");
    expect(br0).toMatchObject({ name: "br0", nested: true });
    expect(tableSteps(br0?.items ?? []).map((s) => [s.table, s.depth])).toEqual([
      [0, 4],
      [1, 4],
    ]);
    expect(only0.finalFlow?.unchanged).toBe(true);
    expect(dp(only0).map((a) => (a.kind === "other" ? a.name : a.kind))).toEqual([
      "push_nsh",
      "push_nsh",
      "push_eth",
      "pop_eth",
      "pop_nsh",
      "recirc",
    ]);
  });

  it("OVS testsuite: thaw with restoring actions", () => {
    const only0 = pass(parse("public_ofproto-trace_ovs-testsuite_nsh_thaw"), 0);
    expect(only0.flow.values.packet_type).toBe("(1,0x894f)");
    expect(only0.flow.protocol).toBeNull();
    const items = only0.bridges[0]?.items ?? [];
    expect(items[0]).toMatchObject({ kind: "thaw", resumeTable: 0, restoringActions: "resubmit(,2)" });
    expect(items[1]).toMatchObject({ kind: "action", text: "resubmit(,2)", resubmitTable: 2 });
    expect(items[2]).toMatchObject({ kind: "table", table: 2, depth: 0 });
  });

  it("OVN tutorial traces (OVS 2.8 era): rules without cookies, ct then drop", () => {
    const trace = pass(parse("public_ofproto-trace_ovn-openstack_from-dpflow"), 0);
    expect(trace.flow.protocol).toBe("ip");
    expect(steps(trace)[0]).toMatchObject({ match: "in_port=3", priority: 100, cookie: null });
    expect(actions(step(trace, 13, "0xd1941634")).map((a) => a.text)).toEqual([
      "ct(table=22,zone=NXM_NX_REG13[0..15])",
      "drop",
    ]);
    expect(dp(trace).map((a) => a.text)).toEqual(["ct(zone=8)", "recirc(0xb)"]);
    const l2 = pass(parse("public_ofproto-trace_ovn-openstack_vm-to-vm"), 0);
    expect(lastTableStep(l2)).toMatchObject({ table: 65, cookie: null, match: "reg15=0x2,metadata=0x4" });
    expect(dp(l2)).toEqual([{ kind: "output", text: "4", port: 4 }]);
  });

  it("ovn-lab 21: the outer Geneve packet ends in tnl_pop", () => {
    const only0 = pass(parse("ovn-lab_21"), 0);
    expect(steps(only0)).toMatchObject([
      { table: 0, match: "udp,in_port=1,nw_dst=172.18.0.4,tp_dst=6081", priority: 100, bridge: "breth0" },
    ]);
    expect(dp(only0)).toEqual([{ kind: "other", text: "tnl_pop(6081)", name: "tnl_pop" }]);
  });
});

describe("rejections", () => {
  it("rejects the format before OVS 2.7 at its first line", () => {
    expect(() => parseOfprotoTrace(text(LEGACY))).toThrow(ParseError);
    expect(() => parseOfprotoTrace(text(LEGACY))).toThrow(/line 1: .*before OVS 2\.7/);
  });

  it("rejects text without a Flow: line", () => {
    expect(() => parseOfprotoTrace("")).toThrow(ParseError);
    expect(() => parseOfprotoTrace("Datapath: br-int\nhello\n")).toThrow(/line 1: not ofproto\/trace output/);
  });

  it("rejects a trace cut before a pass's Datapath actions", () => {
    const lines = splitLines(text(fixture("ovn-lab_28")));
    // Cut the second pass right after its drop step.
    const cut = lines
      .slice(
        0,
        lines.findIndex((l) => l.startsWith("Final flow: recirc_id=0x4")),
      )
      .join("\n");
    expect(() => parseOfprotoTrace(cut)).toThrow(/truncated ofproto\/trace output/);
    // Cut inside the recirculation header's pass: the header has no Flow.
    const header = lines
      .slice(
        0,
        lines.findIndex((l) => l.startsWith("Flow: recirc_id=0x4")),
      )
      .join("\n");
    expect(() => parseOfprotoTrace(header)).toThrow(/recirculation header without its pass/);
  });

  it("rejects a Datapath actions line cut in the middle, naming the line", () => {
    const lines = splitLines(text(fixture("ovn-lab_20")));
    const at = lines.findIndex((l) => l.startsWith("Datapath actions: ct(commit"));
    lines[at] = (lines[at] ?? "").slice(0, 120);
    expect(() => parseOfprotoTrace(lines.join("\n"))).toThrow(new RegExp(`^line ${at + 1}: unbalanced`));
  });

  it("rejects two traces interleaved pass by pass", () => {
    const a = splitLines(text(fixture("ovn-lab_28")));
    const b = splitLines(text(fixture("ovn-lab_22")));
    const mixed = [...a.slice(0, 20), ...b.slice(0, 30), ...a.slice(20)].join("\n");
    expect(() => parseOfprotoTrace(mixed)).toThrow(ParseError);
  });
});

describe("lines OVS prints that the lab fixtures do not show", () => {
  // Formats from lib/ofproto-dpif-trace.c and ofproto-dpif-xlate.c, spliced into a real trace.
  const base = splitLines(text(fixture("ovn-lab_21")));

  it("reads warnings, errors, table misses and the translation failure", () => {
    const lines = [...base];
    const at = lines.indexOf("    LOCAL");
    lines.splice(
      at + 1,
      0,
      '     >> Packets are IP fragments and the fragment handling mode is "drop".',
      "     >>>> Recursion too deep <<<<",
      ' 1. No match, flow generates "packet in"s.',
      "    drop",
    );
    lines.push("Translation failed (Recursion too deep), packet is dropped.");
    const doc = parseOfprotoTrace(lines.join("\n"));
    const only0 = pass(doc, 0);
    const s0 = must(steps(only0)[0]);
    expect(s0.items.filter((i) => i.kind === "note")).toMatchObject([
      { level: "warning", text: 'Packets are IP fragments and the fragment handling mode is "drop".' },
      { level: "error", text: "Recursion too deep" },
    ]);
    expect(steps(only0)[1]).toMatchObject({ table: 1, miss: 'No match, flow generates "packet in"s.' });
    expect(only0.translationFailure).toBe("Recursion too deep");
    expect(only0.trailer).toMatchObject([{ kind: "translation-failed", text: "Recursion too deep" }]);
    expect(doc.unconsumed).toEqual([]);
  });

  it("reads the slow-path explanation and the recirculation limit", () => {
    const lines = [
      ...base,
      "",
      "This flow is handled by the userspace slow path because it:",
      '  - Sends "packet-in" messages to the OpenFlow controller.',
      "",
      "",
      "=".repeat(79),
      "Trace reached the recirculation limit.  Sopping the trace here.",
      "Queued but not processed: 3 recirculations.",
    ];
    const doc = parseOfprotoTrace(lines.join("\n"));
    expect(pass(doc, 0).trailer.map((t) => [t.kind, t.text])).toEqual([
      ["slow-path", "This flow is handled by the userspace slow path because it:"],
      ["slow-path-reason", 'Sends "packet-in" messages to the OpenFlow controller.'],
    ]);
    expect(doc.recirculationLimit?.queued).toBe(3);
    expect(doc.recirculationLimit?.lines).toHaveLength(3);
    expect(doc.unconsumed).toEqual([]);
  });

  it("lists unknown lines as unconsumed instead of guessing", () => {
    const lines = [...base];
    lines.splice(1, 0, "some note a user pasted");
    const doc = parseOfprotoTrace(lines.join("\n"));
    expect(doc.unconsumed).toEqual([{ line: 2, text: "some note a user pasted" }]);
  });
});

describe("looksLikeOfprotoTrace", () => {
  it.each(ALL)("%s", (name) => {
    expect(looksLikeOfprotoTrace(text(name))).toBe(true);
  });

  it("is false for other OVS/OVN outputs", () => {
    expect(looksLikeOfprotoTrace("")).toBe(false);
    expect(
      looksLikeOfprotoTrace(
        '# udp,reg14=0x3,vlan_tci=0x0000,dl_src=0a:58:0a:f4:01:03\n\ningress(dp="ovn-worker", inport="default_client")\n',
      ),
    ).toBe(false);
    expect(
      looksLikeOfprotoTrace(
        " cookie=0x6bdcebac, duration=1.2s, table=0, n_packets=0, n_bytes=0, priority=100,in_port=5 actions=resubmit(,8)\n",
      ),
    ).toBe(false);
  });
});

describe("parseDatapathActions", () => {
  it("reads the kinds the brief lists (OVS format_odp_action output)", () => {
    const list = parseDatapathActions(
      "push_vlan(vid=100,pcp=0),pop_vlan,userspace(pid=4294967295,slow_path(controller)),meter(0)," +
        "clone(tnl_pop(6081),2),sample(sample=50.0%,actions(3)),set(tcp(src=80,dst=8080)),drop,veth-web,trunc(100)",
    );
    expect(list).toEqual([
      { kind: "push_vlan", text: "push_vlan(vid=100,pcp=0)", vid: 100, pcp: 0, tpid: null },
      { kind: "pop_vlan", text: "pop_vlan" },
      {
        kind: "userspace",
        text: "userspace(pid=4294967295,slow_path(controller))",
        pid: 4294967295,
        options: ["slow_path(controller)"],
      },
      { kind: "meter", text: "meter(0)", id: 0 },
      {
        kind: "clone",
        text: "clone(tnl_pop(6081),2)",
        actions: [
          { kind: "other", text: "tnl_pop(6081)", name: "tnl_pop" },
          { kind: "output", text: "2", port: 2 },
        ],
      },
      {
        kind: "sample",
        text: "sample(sample=50.0%,actions(3))",
        probability: "50.0%",
        actions: [{ kind: "output", text: "3", port: 3 }],
      },
      { kind: "set", text: "set(tcp(src=80,dst=8080))", header: "tcp", fields: { src: "80", dst: "8080" } },
      { kind: "drop", text: "drop" },
      { kind: "output", text: "veth-web", port: "veth-web" },
      { kind: "other", text: "trunc(100)", name: "trunc" },
    ]);
  });

  it("reads NAT ranges and flags", () => {
    const [ct] = parseDatapathActions("ct(commit,zone=5,nat(src=10.0.0.1-10.0.0.9:100-200,random))");
    expect(ct).toMatchObject({
      kind: "ct",
      zone: 5,
      nat: {
        direction: "src",
        addr: "10.0.0.1",
        addrMax: "10.0.0.9",
        port: 100,
        portMax: 200,
        flags: ["random"],
      },
    });
  });

  it("finds a tunnel inside a clone", () => {
    const inner = splitLines(text(fixture("ovn-lab_20"))).find((l) => l.includes("tnl_push")) ?? "";
    const push = /tnl_push\(.*\)\),out_port\(100\)\)/.exec(inner)?.[0] ?? "";
    const list = parseDatapathActions(`clone(${push}),3`);
    expect(tunnelsOf(list)).toHaveLength(1);
    expect(tunnelOf(list)).toMatchObject({ dst: "172.18.0.4", ovnEgressPortKey: 3 });
    expect(tunnelOf(parseDatapathActions("3"))).toBeNull();
  });

  it("returns no action for an empty string and rejects unbalanced text", () => {
    expect(parseDatapathActions("")).toEqual([]);
    expect(() => parseDatapathActions("ct(commit,nat(src)")).toThrow(ParseError);
    expect(() => parseDatapathActions("set(eth(src=1)))")).toThrow(/unbalanced/);
  });
});

describe("fuzz: damaged real traces throw ParseError or parse", () => {
  const random = seededRandom(0x0f7ace);
  const SOURCES = [
    "ovn-lab_20",
    "ovn-lab_26-",
    "ovn-lab_31",
    "ovn-lab_42",
    "ovnk-ic_49-",
    "public_ofproto-trace_ovnk-ic",
    "public_ofproto-trace_ovs-testsuite_nsh_nested",
    "public_ovn-detrace",
    "public_ofproto-trace_ovnk-kind",
  ].map((p) => text(fixture(p)));
  const ALPHABET = [
    "(",
    ")",
    ",",
    "=",
    " ",
    "    ",
    "\n",
    "*",
    "-",
    ">",
    "0",
    "9",
    ".",
    '"',
    "{",
    "}",
    "x",
    "\u00e9",
  ];

  it("survives 3000 mutations", () => {
    const inputs = mutatedTexts(random, SOURCES, 3000, { alphabet: ALPHABET, maxReplacements: 31 });
    expectOnlyParseErrors(
      (input: string) => {
        expect(parseOfprotoTrace(input).lineCount).toBe(splitLines(input).length);
      },
      inputs,
      { minParsed: 100, minRejected: 100 },
    );
  });

  it("survives 2000 mutated Datapath actions strings", () => {
    const strings = SOURCES.flatMap((t) => splitLines(t).filter((l) => l.startsWith("Datapath actions: ")));
    const inputs = Array.from({ length: 2000 }, () => {
      const chars = Array.from(pick(random, strings).slice("Datapath actions: ".length));
      for (let i = randomInt(random, 6); i >= 0; i--) {
        if (random() < 0.5) chars.splice(randomInt(random, chars.length), 1);
        else chars[randomInt(random, chars.length)] = pick(random, ALPHABET);
      }
      return chars.join("");
    });
    expectOnlyParseErrors((actions: string) => tunnelOf(parseDatapathActions(actions)), inputs);
  });
});
