import { describe, expect, it } from "vitest";
import type { DumpGroupsDocument, OpenFlowGroup } from "../../src/model/openflow.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeDumpGroups, natTargetOf, parseDumpGroups } from "../../src/parsers/dump-groups.js";
import { expectLosslessParses, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/openflow/README.md.
function fixture(name: string): string {
  return fixtureText(`openflow/${name}`);
}

const SNAPSHOT = fixture("ovn-worker_br-int.groups.txt");
const DUALSTACK = fixture("lab-dualstack_ovn-worker_br-int.groups.OF15.txt");
const EDGE_OF15 = fixture("lab_br-edge.groups.OF15.txt");
const EDGE_OF13 = fixture("lab_br-edge.groups.OF13.txt");
const ALL = { SNAPSHOT, DUALSTACK, EDGE_OF15, EDGE_OF13 };

function group(doc: DumpGroupsDocument, id: number): OpenFlowGroup {
  const found = doc.groups.find((g) => g.id === id);
  if (found === undefined) throw new Error(`no group ${id}`);
  return found;
}

/** Each bucket's DNAT destination as printed. */
function dnatTargets(g: OpenFlowGroup): (string | undefined)[] {
  return g.buckets.map((b) => natTargetOf(b)?.text);
}

function accountedLines(doc: DumpGroupsDocument): SourceRef[] {
  return [...[...doc.headers, ...doc.groups].map((r) => r.source), ...doc.unconsumed];
}

describe("parseDumpGroups on real outputs", () => {
  it("accounts for every line of every fixture", () => {
    expectLosslessParses(ALL, parseDumpGroups, accountedLines);
  });

  it("reads the OpenFlow 1.5 reply header", () => {
    const doc = parseDumpGroups(SNAPSHOT);
    expect(doc.kind).toBe("dump-groups");
    expect(doc.headers).toEqual([
      {
        kind: "reply-header",
        source: { line: 1, text: "OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):" },
        message: "OFPST_GROUP_DESC",
        version: "OF1.5",
        xid: "0x2",
        more: false,
      },
    ]);
  });

  it("reads group 1: kube-dns load balancing to both coredns backends (snapshot LB 10.96.0.10:53)", () => {
    const g = group(parseDumpGroups(SNAPSHOT), 1);
    expect(g).toMatchObject({ type: "select", selectionMethod: "dp_hash", fields: [], other: [] });
    expect(g.buckets.map((b) => [b.id, b.weight])).toEqual([
      [0, 100],
      [1, 100],
    ]);
    expect(g.buckets[0]?.actions).toEqual([
      "ct(commit,table=21,zone=NXM_NX_REG13[0..15],nat(dst=10.244.0.3:53),exec(set_field:0x2/0x2->ct_mark))",
    ]);
    expect(dnatTargets(g)).toEqual(["10.244.0.3:53", "10.244.2.3:53"]);
    expect(natTargetOf(g.buckets[1] ?? { actions: [] })).toEqual({
      kind: "dnat",
      text: "10.244.2.3:53",
      family: "ipv4",
      address: "10.244.2.3",
      port: 53,
    });
  });

  it("reads group 2 (the router-side copy, zone REG11, table 16) with the same backends", () => {
    const g = group(parseDumpGroups(SNAPSHOT), 2);
    expect(g.buckets[1]?.actionsText).toBe(
      "ct(commit,table=16,zone=NXM_NX_REG11[0..15],nat(dst=10.244.2.3:53),exec(set_field:0x2/0x2->ct_mark,set_field:0x8/0x8->ct_mark))",
    );
    expect(dnatTargets(g)).toEqual(["10.244.0.3:53", "10.244.2.3:53"]);
  });

  it("reads IPv6 backends in brackets (dual-stack lab)", () => {
    const doc = parseDumpGroups(DUALSTACK);
    expect(doc.groups.map((g) => g.id)).toEqual([7, 1, 5, 4, 8, 2, 3, 6]);
    expect(dnatTargets(group(doc, 5))).toEqual(["[fd00:10:244::3]:53", "[fd00:10:244:2::3]:53"]);
    expect(natTargetOf(group(doc, 3).buckets[1] ?? { actions: [] })).toEqual({
      kind: "dnat",
      text: "[fd00:10:244:2::3]:53",
      family: "ipv6",
      address: "fd00:10:244:2::3",
      port: 53,
    });
    expect(dnatTargets(group(doc, 7))).toEqual(["[fd00:10:244:2::4]:8080"]);
    expect(dnatTargets(group(doc, 8))).toEqual(["10.244.2.4:8080"]);
  });

  it("reads fast-failover watch ports and groups, hash fields and selection_method_param", () => {
    const doc = parseDumpGroups(EDGE_OF15);
    expect(group(doc, 2)).toMatchObject({
      type: "ff",
      buckets: [
        { id: 0, weight: 0, watchPort: "1", actions: ["output:1"] },
        { id: 1, weight: 0, watchPort: "2", watchGroup: 1, actions: ["output:2"] },
      ],
    });
    const hashed = group(doc, 3);
    expect(hashed).toMatchObject({ type: "select", selectionMethod: "hash", fields: ["ip_src", "nw_proto"] });
    expect(hashed.buckets.map((b) => [b.weight, b.actions])).toEqual([
      [10, ["set_field:10.0.0.5->ip_dst", "output:1"]],
      [20, ["ct(commit,nat(dst=10.0.0.6))", "output:2"]],
    ]);
    expect(dnatTargets(hashed)).toEqual([undefined, "10.0.0.6"]);
    expect(group(doc, 5)).toMatchObject({
      selectionMethodParam: "42",
      fields: ["ip_dst"],
      buckets: [{ weight: 1 }],
    });
    expect(group(doc, 1)).toMatchObject({ type: "all", buckets: [{ id: 0 }, { id: 1 }] });
    expect(group(doc, 4)).toMatchObject({ type: "indirect", buckets: [{ actions: ["drop"] }] });
  });

  it("reads an IPv6 NAT target without port, which OVS prints without brackets", () => {
    const target = natTargetOf(group(parseDumpGroups(EDGE_OF15), 6).buckets[0] ?? { actions: [] });
    expect(target).toEqual({ kind: "dnat", text: "fd00::7", family: "ipv6", address: "fd00::7" });
  });

  it("reads the OpenFlow 1.3 form: no bucket ids, no selection method, weight 1 by default", () => {
    const doc = parseDumpGroups(EDGE_OF13);
    expect(doc.headers[0]).toMatchObject({ version: "OF1.3" });
    expect(group(doc, 2).buckets.map((b) => b.id)).toEqual([undefined, undefined]);
    expect(group(doc, 3).selectionMethod).toBeUndefined();
    expect(group(doc, 6).buckets[0]?.weight).toBe(1);
    expect(group(doc, 1).buckets.map((b) => b.actions)).toEqual([["output:1"], ["output:2"]]);
  });
});

describe("natTargetOf", () => {
  it("reads ranges and ignores SNAT and actions without ct", () => {
    expect(natTargetOf({ actions: ["ct(commit,nat(dst=10.0.0.1-10.0.0.9:80-90,random))"] })).toEqual({
      kind: "dnat",
      text: "10.0.0.1-10.0.0.9:80-90",
      family: "ipv4",
      address: "10.0.0.1",
      addressMax: "10.0.0.9",
      port: 80,
      portMax: 90,
    });
    expect(natTargetOf({ actions: ["ct(commit,zone=5,nat(src=192.168.0.1))", "output:2"] })).toBeUndefined();
    expect(natTargetOf({ actions: ["output:2"] })).toBeUndefined();
    expect(natTargetOf({ actions: ["ct(commit,nat(dst=10.0.0.1:http))"] })).toBeUndefined();
  });
});

describe("parseDumpGroups on other input", () => {
  it("accepts a reply with no groups", () => {
    const doc = parseDumpGroups("OFPST_GROUP_DESC reply (OF1.3) (xid=0x2):\n");
    expect(doc.groups).toEqual([]);
    expect(doc.headers).toHaveLength(1);
  });

  it("rejects text that is not a group dump", () => {
    expect(() => parseDumpGroups("Datapath: x\n")).toThrow(ParseError);
  });

  it("rejects a group line without a type, naming the line", () => {
    expect(() =>
      parseDumpGroups("OFPST_GROUP_DESC reply (OF1.5) (xid=0x2):\n group_id=1,bucket=actions=drop\n"),
    ).toThrow(expect.objectContaining({ line: 2 }) as Error);
  });

  it("rejects a bucket cut before its actions", () => {
    expect(() => parseDumpGroups(" group_id=1,type=select,bucket=bucket_id:0,weig\n")).toThrow(ParseError);
  });
});

describe("looksLikeDumpGroups", () => {
  it("recognizes group dumps and nothing else", () => {
    for (const [name, text] of Object.entries(ALL)) expect(looksLikeDumpGroups(text), name).toBe(true);
    expect(looksLikeDumpGroups(fixture("ovn-worker_breth0.flows.txt"))).toBe(false);
    expect(looksLikeDumpGroups(fixture("ovn-worker_br-int.tlv-map.txt"))).toBe(false);
  });
});

describe("parseDumpGroups fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    // natTargetOf reads what the damaged buckets hold: it must not throw either.
    const parseWithNatTargets = (text: string): DumpGroupsDocument => {
      const doc = parseDumpGroups(text);
      for (const g of doc.groups) for (const b of g.buckets) natTargetOf(b);
      return doc;
    };
    expectDamagedSamplesAccountedFor(parseWithNatTargets, accountedLines, {
      seed: 0x6e0,
      sources: [...Object.values(ALL), fixture("ovn-worker_breth0.flows.txt")],
      alphabet: '(),=[]: "\nx0-bucket=actions=type=group_id=',
    });
  });
});
