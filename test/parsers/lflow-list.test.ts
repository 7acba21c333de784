import { describe, expect, it } from "vitest";
import type { LflowListDocument, LogicalFlow } from "../../src/model/lflow-list.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeLflowList, parseLflowList } from "../../src/parsers/lflow-list.js";
import { expectLosslessParses, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/lflow-list/README.md.
function fixture(name: string): string {
  return fixtureText(`lflow-list/${name}`);
}

const CENTRAL = fixture("central_lflow-list.txt");
const OVS = fixture("lab-dualstack_ovn-worker_lflow-list--ovs.txt");
const OVS_STATS = fixture("lab-dualstack_ovn-worker_lflow-list--ovs--stats--uuid.txt");
const UUID = fixture("lab-dualstack_ovn-worker_lflow-list--uuid.txt");
const OPENSTACK_ELIDED = fixture("ovn-sbctl-lflow-list--ovs_ovn-openstack_ELIDED.txt");
const GR_ELIDED = fixture("ovn-sbctl-lflow-list_ovnk-kind_GR_ELIDED.txt");
const ALL = { CENTRAL, OVS, OVS_STATS, UUID, OPENSTACK_ELIDED, GR_ELIDED };

function allFlows(doc: LflowListDocument): LogicalFlow[] {
  return doc.pipelines.flatMap((p) => p.flows);
}

function flowAtLine(doc: LflowListDocument, line: number): LogicalFlow {
  const flow = allFlows(doc).find((f) => f.source.line === line);
  if (flow === undefined) throw new Error(`no logical flow at line ${line}`);
  return flow;
}

function pipelineOf(doc: LflowListDocument, line: number): string {
  const p = doc.pipelines.find((pl) => pl.flows.some((f) => f.source.line === line));
  return `${p?.datapath.name ?? "?"} ${p?.pipeline ?? "?"}`;
}

function accountedLines(doc: LflowListDocument): SourceRef[] {
  return [
    ...doc.pipelines.map((p) => p.source),
    ...allFlows(doc).flatMap((f) => [f.source, ...f.openflow.map((o) => o.source)]),
    ...doc.elisions.map((e) => e.source),
    ...doc.unconsumed,
  ];
}

describe("parseLflowList on real outputs", () => {
  it("accounts for every line of every fixture", () => {
    expectLosslessParses(ALL, parseLflowList, accountedLines);
  });

  it("reads the central snapshot: 11 datapaths, each with an ingress and an egress section", () => {
    const doc = parseLflowList(CENTRAL);
    expect(doc.kind).toBe("lflow-list");
    expect(doc.lineCount).toBe(1226);
    expect(doc.pipelines).toHaveLength(22);
    expect(allFlows(doc)).toHaveLength(1204);
    const names = [...new Set(doc.pipelines.map((p) => p.datapath.name))];
    expect(names).toEqual([
      "GR_ovn-control-plane",
      "GR_ovn-worker",
      "GR_ovn-worker2",
      "ext_ovn-control-plane",
      "ext_ovn-worker",
      "ext_ovn-worker2",
      "join",
      "ovn-control-plane",
      "ovn-worker",
      "ovn-worker2",
      "ovn_cluster_router",
    ]);
    expect(new Set(doc.pipelines.map((p) => p.datapath.uuid)).size).toBe(11);
    expect(doc.pipelines[0]).toMatchObject({
      datapath: { name: "GR_ovn-control-plane", uuid: "3cc5e2e2-d2a9-4d11-b5b7-8d972210e278" },
      pipeline: "ingress",
    });
    expect(doc.pipelines[1]?.pipeline).toBe("egress");
  });

  it("reads the web NetworkPolicy ACLs on ovn-worker2, with nested parentheses in the match", () => {
    const doc = parseLflowList(CENTRAL);
    expect(pipelineOf(doc, 1044)).toBe("ovn-worker2 egress");
    expect(flowAtLine(doc, 1044)).toMatchObject({
      table: 4,
      stage: "ls_out_acl",
      priority: 2001,
      match: "reg0[7] == 1 && (outport == @a_default_ingressDefaultDeny && (arp || nd))",
      action: "reg0[1] = 1; next;",
      openflow: [],
    });
    expect(flowAtLine(doc, 1047)).toMatchObject({
      stage: "ls_out_acl",
      priority: 2000,
      match: "reg0[10] == 1 && (outport == @a_default_ingressDefaultDeny)",
      action: "ct_commit { ct_mark.blocked = 1; }; /* drop */",
    });
    expect(flowAtLine(doc, 1043).match).toBe(
      "reg0[7] == 1 && (ip4 && outport == @a_default_allow8080 && tcp && tcp.dst==8080)",
    );
  });

  it("reads two-digit tables, printed without a space before the stage", () => {
    const doc = parseLflowList(CENTRAL);
    expect(flowAtLine(doc, 66)).toMatchObject({
      table: 10,
      stage: "lr_in_nd_ra_options",
      priority: 0,
      match: "1",
    });
    expect(flowAtLine(doc, 19)).toMatchObject({
      table: 2,
      stage: "lr_in_learn_neighbor",
      priority: 95,
      match: "nd_ns && (ip6.src == 0 || nd.sll == 0)",
    });
  });

  it("attaches the --ovs OpenFlow lines to their logical flow", () => {
    const doc = parseLflowList(OVS);
    expect(doc.pipelines.map((p) => [p.source.line, p.datapath.name, p.pipeline])).toEqual([
      [1, "ovn-worker", "ingress"],
      [480, "ovn-worker", "egress"],
    ]);
    expect(allFlows(doc)).toHaveLength(146);
    expect(allFlows(doc).reduce((n, f) => n + f.openflow.length, 0)).toBe(544);
    const invalid = flowAtLine(doc, 594);
    expect(invalid).toMatchObject({
      table: 4,
      stage: "ls_out_acl",
      priority: 65532,
      match: "ct.inv || (ct.est && ct.rpl && ct_mark.blocked == 1)",
      action: "drop;",
    });
    expect(invalid.openflow.map((o) => [o.source.line, o.table, o.match, o.actions])).toEqual([
      [
        595,
        46,
        [
          { field: "ct_state", value: "+est+rpl+trk" },
          { field: "ct_mark", value: "0x1/0x1" },
          { field: "metadata", value: "0x1" },
        ],
        ["drop"],
      ],
      [
        596,
        46,
        [
          { field: "ct_state", value: "+inv+trk" },
          { field: "metadata", value: "0x1" },
        ],
        ["drop"],
      ],
    ]);
    // Without --stats, OVN prints neither cookie nor priority of the OpenFlow flows.
    expect(invalid.openflow[0]?.cookie).toBeUndefined();
    expect(invalid.openflow[0]?.priority).toBeUndefined();
    expect(flowAtLine(doc, 589).openflow[0]?.actions).toEqual([
      "ct(commit,table=47,zone=NXM_NX_REG13[0..15],nat)",
    ]);
  });

  it("reads --ovs --stats --uuid: each OpenFlow cookie is its logical flow's UUID prefix", () => {
    const doc = parseLflowList(OVS_STATS);
    const flows = allFlows(doc);
    expect(flows).toHaveLength(146);
    const first = flows[0];
    expect(first).toMatchObject({
      uuid: "0xf09c7bd8",
      table: 0,
      stage: "ls_in_check_port_sec",
      priority: 100,
    });
    expect(first?.openflow[0]).toMatchObject({ cookie: "0xf09c7bd8", table: 8, priority: 100 });
    expect(first?.openflow[0]?.stats).toMatchObject({ durationSeconds: 229.763, nPackets: 0, idleAge: 229 });
    let checked = 0;
    for (const f of flows) {
      for (const o of f.openflow) {
        expect(BigInt(o.cookie ?? "-1"), `line ${o.source.line}`).toBe(BigInt(f.uuid ?? "-2"));
        expect(o.priority).toBeTypeOf("number");
        checked++;
      }
    }
    expect(checked).toBe(544);
  });

  it("reads --uuid prefixes as printed, leading zeros kept", () => {
    const doc = parseLflowList(UUID);
    expect(flowAtLine(doc, 2).uuid).toBe("0xf09c7bd8");
    expect(flowAtLine(doc, 5)).toMatchObject({
      uuid: "0x0355dc96",
      table: 1,
      stage: "ls_in_apply_port_sec",
      priority: 50,
      match: "reg0[15] == 1",
      action: "drop;",
    });
  });

  it("reads the OpenStack --ovs excerpt: datapath alias and the elision line", () => {
    const doc = parseLflowList(OPENSTACK_ELIDED);
    expect(doc.pipelines).toHaveLength(1);
    expect(doc.pipelines[0]?.datapath).toEqual({ name: "neutron-5b6baf", alias: "n1", uuid: "a8a758" });
    const flows = allFlows(doc);
    expect(flows.map((f) => [f.priority, f.openflow.length])).toEqual([
      [100, 1],
      [100, 1],
      [50, 1],
      [50, 1],
    ]);
    expect(flows[2]?.match).toBe('inport == "820c08" && eth.src == {fa:16:3e:a9:4c:c7}');
    expect(flows[2]?.openflow[0]).toMatchObject({
      table: 8,
      match: [
        { field: "reg14", value: "0x1" },
        { field: "metadata", value: "0x4" },
        { field: "dl_src", value: "fa:16:3e:a9:4c:c7" },
      ],
      actions: ["resubmit(,9)"],
    });
    expect(doc.elisions).toEqual([{ kind: "elision", source: { line: 10, text: "..." } }]);
  });

  it("reads the ovn-k GR excerpt: unindented flows and a [...] elision", () => {
    const doc = parseLflowList(GR_ELIDED);
    expect(doc.pipelines[0]?.datapath).toEqual({
      name: "GR_ovn-control-plane",
      uuid: "81daa3cf-3bf9-42ac-806b-2ee95e28f11c",
    });
    expect(allFlows(doc)).toHaveLength(8);
    expect(flowAtLine(doc, 7)).toMatchObject({
      table: 1,
      stage: "lr_in_lookup_neighbor",
      priority: 110,
      action: "reg9[2] = lookup_arp(inport, arp.spa, arp.sha); reg9[3] = 1; next;",
    });
    expect(doc.elisions.map((e) => e.source)).toEqual([{ line: 10, text: "[...]" }]);
  });
});

describe("parseLflowList on other input", () => {
  it("returns an empty document for empty output", () => {
    expect(parseLflowList("")).toEqual({
      kind: "lflow-list",
      pipelines: [],
      elisions: [],
      unconsumed: [],
      lineCount: 0,
    });
  });

  it("rejects text that is not lflow-list output", () => {
    expect(() =>
      parseLflowList("ovn-sbctl: unix:/var/run/ovn/ovnsb_db.sock: database connection failed\n"),
    ).toThrow(ParseError);
  });

  it("rejects a logical flow cut in its action, naming the line", () => {
    const cut = CENTRAL.slice(0, CENTRAL.indexOf("action=(reg9[2] = lookup_arp") + 20);
    expect(() => parseLflowList(cut)).toThrow(expect.objectContaining({ line: 8 }) as Error);
  });

  it("rejects long mangled lines in linear time", () => {
    const start = performance.now();
    expect(() => parseLflowList(`Datapath:${" ".repeat(50_000)}x\n`)).toThrow(ParseError);
    const head = `Datapath: "x" (1)  Pipeline: ingress\ntable=1 (${" ".repeat(50_000)}), priority=1 , match=(`;
    expect(() => parseLflowList(head + "(".repeat(50_000))).toThrow(ParseError);
    expect(performance.now() - start).toBeLessThan(500);
  });

  it("rejects a mangled Datapath header", () => {
    expect(() => parseLflowList('Datapath: "x" (1234)  Pipeline: sideways\n')).toThrow(ParseError);
  });

  it("does not attach OpenFlow lines that follow a foreign line", () => {
    const lines = OVS.split("\n");
    lines.splice(595, 0, "Port Bindings:"); // between the two OpenFlow lines of the flow at line 594
    const doc = parseLflowList(lines.join("\n"));
    expect(flowAtLine(doc, 594).openflow.map((o) => o.source.line)).toEqual([595]);
    expect(doc.unconsumed.map((s) => s.line)).toEqual([596, 597]);
    expect(flowAtLine(doc, 598).openflow.length).toBeGreaterThan(0);
  });

  it("leaves logical flows before any Datapath header unconsumed", () => {
    const doc = parseLflowList(CENTRAL.split("\n").slice(1, 30).join("\n") + "\n" + CENTRAL);
    expect(doc.unconsumed).toHaveLength(29);
    expect(allFlows(doc)).toHaveLength(1204);
  });
});

describe("looksLikeLflowList", () => {
  it("recognizes lflow-list outputs and nothing else", () => {
    for (const [name, text] of Object.entries(ALL)) expect(looksLikeLflowList(text), name).toBe(true);
    const flows = fixtureText("openflow/ovn-worker_breth0.flows.txt");
    expect(looksLikeLflowList(flows)).toBe(false);
    expect(looksLikeLflowList("hello\n")).toBe(false);
  });
});

describe("parseLflowList fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseLflowList, accountedLines, {
      seed: 0x1f10,
      sources: Object.values(ALL),
      alphabet: '()"{},=[] \n:x0-table=priority=match=(action=(Datapath: ',
      windowLines: 60,
    });
  });
});
