import { describe, expect, it } from "vitest";
import type {
  OvnTraceDocument,
  OvnTraceNode,
  OvnTraceSection,
  OvnTraceStage,
} from "../../src/model/ovn-trace.js";
import {
  looksLikeOvnTrace,
  ovnTraceStages,
  parseOvnTrace,
  parseOvnTraces,
} from "../../src/parsers/ovn-trace.js";
import { expectCleanParse, fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectOnlyParseErrors, mutatedTexts, seededRandom } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Real ovn-trace outputs; see test/fixtures/ovn-trace/README.md for where each one comes from.
const FIXTURES = fixtureNames("ovn-trace");

function text(name: string): string {
  return fixtureText(`ovn-trace/${name}`);
}

function parse(name: string): OvnTraceDocument {
  return parseOvnTrace(text(name));
}

function sections(doc: OvnTraceDocument): readonly OvnTraceSection[] {
  if (doc.form !== "detailed") throw new Error(`expected a detailed trace, got ${doc.form}`);
  return doc.sections;
}

function nodes(doc: OvnTraceDocument): readonly OvnTraceNode[] {
  if (doc.form !== "summary" && doc.form !== "minimal")
    throw new Error(`expected summary/minimal, got ${doc.form}`);
  return doc.nodes;
}

function stagesOf(section: OvnTraceSection | undefined): OvnTraceStage[] {
  return (section?.steps ?? []).filter((step): step is OvnTraceStage => step.kind === "stage");
}

function childSections(steps: readonly { kind: string }[] | undefined): OvnTraceSection[] {
  return (steps ?? []).filter((step): step is OvnTraceSection => step.kind === "section");
}

function findStage(doc: OvnTraceDocument, uuid: string): OvnTraceStage {
  const stage = ovnTraceStages(doc).find((s) => s.uuid === uuid);
  if (stage === undefined) throw new Error(`no stage with uuid ${uuid}`);
  return stage;
}

describe("every fixture", () => {
  it.each(FIXTURES)("%s parses with every line accounted for", (name) => {
    const input = text(name);
    for (const doc of parseOvnTraces(input)) {
      expect(doc.kind).toBe("ovn-trace");
      expectCleanParse(doc);
      expect(doc.lineCount).toBe(input.split("\n").length - 1);
    }
    expect(looksLikeOvnTrace(input)).toBe(true);
  });

  it("keeps each stage and action line with its raw text", () => {
    const lines = text("lab-01-ovn-trace-A-to-B-udp53-new.txt").split("\n");
    const doc = parse("lab-01-ovn-trace-A-to-B-udp53-new.txt");
    for (const stage of ovnTraceStages(doc)) {
      expect(lines[stage.source.line - 1]).toBe(stage.source.text);
      for (const step of stage.steps) expect(lines[step.source.line - 1]).toBe(step.source.text);
    }
  });
});

describe("detailed form (OVN 23.03 lab)", () => {
  it("06: A to web on TCP 80 is dropped by the egress ACL at priority 2000", () => {
    const doc = parse("lab-06-ovn-trace-A-to-web-tcp80-DROPPED.txt");
    expect(doc.form).toBe("detailed");
    expect(doc.outputs).toEqual([]);
    expect(doc.verdict).toEqual({
      kind: "dropped",
      reason: "drop",
      message: "drop;",
      stage: "ls_out_acl",
      table: 4,
      uuid: "f477daf3",
      priority: 2000,
      datapath: "ovn-worker2",
      pipeline: "egress",
      acl: true,
      source: { line: 129, text: "    drop;" },
    });
    const acl = findStage(doc, "f477daf3");
    expect(acl.match).toBe("reg0[9] == 1 && (outport == @a_default_ingressDefaultDeny)");
    expect(acl.codeLocation).toBe("northd.c:6543");
    expect(acl.source.line).toBe(128);
  });

  it("01: A to B ends in the coredns pod port; the patch-port hops are not outputs", () => {
    const doc = parse("lab-01-ovn-trace-A-to-B-udp53-new.txt");
    expect(doc.verdict).toEqual({
      kind: "output",
      port: "kube-system_coredns-5d78c9869d-bbbbb",
      portType: "",
      datapath: "ovn-worker2",
      source: { line: 139, text: '    /* output to "kube-system_coredns-5d78c9869d-bbbbb", type "" */' },
    });
    expect(doc.outputs.map((o) => o.port)).toEqual(["kube-system_coredns-5d78c9869d-bbbbb"]);
    expect(doc.drops).toEqual([]);
    expect(doc.microflow?.protocol).toBe("udp");
    expect(doc.microflow?.fields.reg14).toBe("0x3");
    expect(doc.microflow?.fields.nw_dst).toBe("10.244.2.3");
    expect(doc.microflow?.fields.tp_dst).toBe("53");
    expect(doc.microflow?.source.line).toBe(1);
  });

  it("01: the sections, their stage numbers and the stages' datapath and pipeline", () => {
    const doc = parse("lab-01-ovn-trace-A-to-B-udp53-new.txt");
    const top = sections(doc);
    expect(top.map((s) => s.title)).toEqual([
      'ingress(dp="ovn-worker", inport="default_client")',
      "ct_lb_mark",
      'egress(dp="ovn-worker", inport="default_client", outport="stor-ovn-worker")',
      'ingress(dp="ovn_cluster_router", inport="rtos-ovn-worker")',
      'egress(dp="ovn_cluster_router", inport="rtos-ovn-worker", outport="rtos-ovn-worker2")',
      'ingress(dp="ovn-worker2", inport="stor-ovn-worker2")',
      'egress(dp="ovn-worker2", inport="stor-ovn-worker2", outport="kube-system_coredns-5d78c9869d-bbbbb")',
      "ct_lb_mark",
    ]);
    expect(top.map((s) => stagesOf(s).map((st) => st.table))).toEqual([
      [0, 5, 6],
      [7, 8, 14, 18, 25],
      [1, 3, 8, 9],
      [0, 1, 2, 12, 13, 14, 15, 16, 17, 21],
      [0, 6],
      [0, 4, 5, 7, 25],
      [0, 1, 2],
      [3, 4, 7, 8, 9],
    ]);
    expect(ovnTraceStages(doc)).toHaveLength(37);
    expect(top[0]?.header).toEqual({
      kind: "pipeline",
      pipeline: "ingress",
      datapath: "ovn-worker",
      inport: "default_client",
    });
    expect(top[0]?.underline).toEqual({ line: 4, text: "-".repeat(49) });
    // The ct_lb_mark fork continues the ingress pipeline of ovn-worker.
    const ctStages = stagesOf(top[1]);
    expect(ctStages[0]).toMatchObject({
      stageName: "ls_in_acl_hint",
      datapath: "ovn-worker",
      pipeline: "ingress",
    });
    expect(top[1]?.header).toEqual({
      kind: "conntrack",
      action: "ct_lb_mark",
      comments: [],
      defaultState: false,
    });
    const routing = stagesOf(top[3]).find((s) => s.table === 13);
    expect(routing).toMatchObject({
      stageName: "lr_in_ip_routing",
      codeLocation: "northd.c:10388",
      match: "ip4.dst == 10.244.2.0/24",
      priority: 74,
      uuid: "535968de",
      noMatch: false,
      datapath: "ovn_cluster_router",
      pipeline: "ingress",
    });
    expect(routing?.steps.map((a) => (a.kind === "action" ? a.text : a.kind))).toEqual([
      "ip.ttl--;",
      "reg8[0..15] = 0;",
      "reg0 = ip4.dst;",
      "reg1 = 10.244.2.1;",
      "eth.src = 0a:58:0a:f4:02:01;",
      'outport = "rtos-ovn-worker2";',
      "flags.loopback = 1;",
      "next;",
    ]);
    const patchOutput = stagesOf(top[2]).at(-1)?.steps.at(-1);
    expect(patchOutput).toEqual({
      kind: "comment",
      text: 'output to "stor-ovn-worker", type "patch"',
      output: { port: "stor-ovn-worker", portType: "patch" },
      source: { line: 48, text: '    /* output to "stor-ovn-worker", type "patch" */' },
    });
  });

  it("03: ct_lb_mark without --ct says it assumed the default state", () => {
    const doc = parse("lab-03-ovn-trace-A-to-B-udp53-default-ct.txt");
    expect(sections(doc)[1]?.header).toEqual({
      kind: "conntrack",
      action: "ct_lb_mark",
      comments: ["default (use --ct to customize)"],
      defaultState: true,
    });
  });

  it("04: the load balancer picks a backend and the trace ends at coredns on the control plane", () => {
    const doc = parse("lab-04-ovn-trace-A-to-VIP-udp53-new-random-backend.txt");
    const lb = ovnTraceStages(doc).find((s) => s.stageName === "ls_in_lb");
    expect(lb?.steps.at(-1)).toEqual({
      kind: "action",
      text: "ct_lb_mark(backends=10.244.0.3:53,10.244.2.3:53);",
      source: { line: 27, text: "    ct_lb_mark(backends=10.244.0.3:53,10.244.2.3:53);" },
    });
    expect(doc.verdict).toMatchObject({
      kind: "output",
      port: "kube-system_coredns-5d78c9869d-aaaaa",
      datapath: "ovn-control-plane",
    });
  });

  it("09: NAT forks, a MAC binding comment and a multicast to the localnet port", () => {
    const doc = parse("lab-09-ovn-trace-A-to-external-GR-snat.txt");
    const top = sections(doc);
    const dnat = top.find((s) => s.source.line === 162);
    expect(dnat?.header).toEqual({
      kind: "conntrack",
      action: "ct_dnat",
      comments: ["assuming no un-dnat entry, so no change"],
      defaultState: false,
    });
    const snat = top.find((s) => s.source.line === 170);
    expect(snat?.header).toEqual({
      kind: "conntrack",
      action: "ct_snat",
      nat: { field: "ip4.src", address: "172.18.0.3" },
      comments: [],
      defaultState: false,
    });
    expect(stagesOf(snat).map((s) => s.stageName)).toEqual(["lr_out_delivery"]);
    const arpResolve = findStage(doc, "c9230496");
    expect(arpResolve.steps[1]).toMatchObject({ kind: "comment", text: "MAC binding to 02:42:ac:12:00:01." });
    const multicast = top.at(-1);
    expect(multicast?.header).toEqual({
      kind: "multicast",
      datapath: "ext_ovn-worker",
      mcgroup: "_MC_unknown",
    });
    const [branch] = childSections(multicast?.steps);
    expect(branch?.indent).toBe(4);
    expect(branch?.source.line).toBe(193);
    expect(stagesOf(branch).map((s) => [s.table, s.datapath, s.pipeline])).toEqual([
      [1, "ext_ovn-worker", "egress"],
      [8, "ext_ovn-worker", "egress"],
      [9, "ext_ovn-worker", "egress"],
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "breth0_ovn-worker", portType: "localnet" });
  });

  it("10 (--ovs): OpenFlow flows are attached to the stage they implement", () => {
    const doc = parse("lab-10-ovn-trace-ovs-A-to-B-on-ovn-worker.txt");
    const stages = ovnTraceStages(doc);
    expect(stages).toHaveLength(37);
    const first = stages[0];
    expect(first?.openflow).toHaveLength(5);
    expect(first?.openflow[0]?.text).toMatch(/^ {4}cookie=0x4af84e96, duration=1\.830s, table=8, /);
    expect(first?.steps.map((s) => s.kind === "action" && s.text)).toEqual([
      "reg0[15] = check_in_port_sec();",
      "next;",
    ]);
    expect(stages.reduce((n, s) => n + s.openflow.length, 0)).toBe(141);
    // In the central lab ovn-worker's br-int holds the flows of ovn-worker2's switch too (metadata 0x9).
    const lookup = findStage(doc, "5d280961");
    expect(lookup).toMatchObject({ table: 25, stageName: "ls_in_l2_lkup", datapath: "ovn-worker2" });
    expect(lookup.openflow).toHaveLength(1);
    expect(lookup.openflow[0]?.text).toMatch(/table=33, .*metadata=0x9,dl_dst=0a:58:0a:f4:02:03 /);
  });
});

describe("detailed form (interconnect lab)", () => {
  const SOURCE_ZONE = [
    "ic-01-ovn-trace-SRCZONE-ovn-worker-A-to-B-ipv4.txt",
    "ic-02-ovn-trace-SRCZONE-ovn-worker-A-to-B-ipv6.txt",
    "ic-11-ovn-trace-SRCZONE-ovn-worker-A-to-VIP-ipv4-new.txt",
    "ic-12-ovn-trace-SRCZONE-ovn-worker-A-to-VIP-ipv6-new.txt",
    "ic-13-ovn-trace-SRCZONE-ovn-worker-A-to-web-tcp80-ipv4.txt",
    "ic-15-ovn-trace-SRCZONE-ovn-worker-A-to-web-tcp80-ipv6.txt",
    "ic-20-ovn-trace-SRCZONE-ovs-A-to-B-ipv6-with-openflow.txt",
  ];

  it.each(SOURCE_ZONE)("%s ends in the remote transit switch port of ovn-worker2", (name) => {
    const doc = parse(name);
    expect(doc.verdict).toMatchObject({
      kind: "output",
      port: "tstor-ovn-worker2",
      portType: "remote",
      datapath: "transit_switch",
    });
    expect(doc.outputs).toHaveLength(1);
  });

  it("07: the reply from ovn-worker2 leaves through the remote port of ovn-worker", () => {
    expect(parse("ic-07-ovn-trace-SRCZONE-ovn-worker2-B-to-A-reply-ipv4.txt").verdict).toMatchObject({
      kind: "output",
      port: "tstor-ovn-worker",
      portType: "remote",
    });
  });

  it("14: in the destination zone the ACL drops TCP 80", () => {
    expect(
      parse("ic-14-ovn-trace-DSTZONE-ovn-worker2-A-to-web-tcp80-ipv4-DROPPED.txt").verdict,
    ).toMatchObject({
      kind: "dropped",
      reason: "drop",
      stage: "ls_out_acl",
      uuid: "d5aed172",
      priority: 2000,
      acl: true,
      source: { line: 103 },
    });
  });

  it("17: in the destination zone TCP 8080 reaches web", () => {
    expect(
      parse("ic-17-ovn-trace-DSTZONE-ovn-worker2-A-to-web-tcp8080-ipv4-ALLOWED.txt").verdict,
    ).toMatchObject({
      kind: "output",
      port: "default_web",
      portType: "",
    });
  });

  it("19: tracing in the wrong zone is an error naming the unknown datapath", () => {
    const doc = parse("ic-19-ovn-trace-WRONGZONE-ovn-worker2-SB-with-src-pod.txt");
    expect(doc.form).toBe("error");
    expect(doc.verdict).toEqual({
      kind: "error",
      message: 'unknown datapath "ovn-worker"',
      datapath: "ovn-worker",
      source: { line: 1, text: 'unknown datapath "ovn-worker"' },
    });
    if (doc.form === "error") expect(doc.error.reason).toBe("unknown-datapath");
  });

  it("20 (--ovs): IPv6 microflow and OpenFlow lines", () => {
    const doc = parse("ic-20-ovn-trace-SRCZONE-ovs-A-to-B-ipv6-with-openflow.txt");
    expect(doc.microflow?.protocol).toBe("udp6");
    expect(doc.microflow?.fields.ipv6_dst).toBe("fd00:10:244:2::3");
    expect(ovnTraceStages(doc).reduce((n, s) => n + s.openflow.length, 0)).toBe(46);
  });
});

describe("detailed form (generated: branches and transformations)", () => {
  it("--ovs: a flow without OpenFlow flows says so", () => {
    const stage = findStage(parse("gen-detailed-ovs-tcp8080-ct-new.txt"), "4498b1ce");
    expect(stage.openflow).toEqual([]);
    expect(stage.openflowError).toEqual({
      message: "no OpenFlow flows",
      source: { line: 244, text: "    *** no OpenFlow flows" },
    });
    expect(stage.steps.map((s) => s.kind === "action" && s.text)).toEqual(["next;"]);
  });

  it("the egress ACL that only commits blocked ends the trace without output", () => {
    expect(parse("gen-detailed-tcp80-ct-new.txt").verdict).toMatchObject({
      kind: "dropped",
      reason: "no-output",
      stage: "ls_out_acl",
      table: 4,
      priority: 2000,
      uuid: "fb7d568d",
      acl: true,
    });
  });

  it("no MAC binding: the arp section holds the actions, then floods to 4 ports", () => {
    const doc = parse("gen-detailed-no-mac-binding-arp-multicast.txt");
    const top = sections(doc);
    const arp = top.find((s) => s.title === "arp");
    expect(arp?.header).toEqual({ kind: "transformation", name: "arp" });
    expect(arp?.steps.map((s) => s.kind === "action" && s.text)).toEqual([
      "eth.dst = ff:ff:ff:ff:ff:ff;",
      "arp.spa = reg1;",
      "arp.tpa = reg0;",
      "arp.op = 1;",
      "output;",
    ]);
    expect(arp?.source.line).toBe(86);
    const resolve = ovnTraceStages(doc).find((s) => s.stageName === "lr_in_arp_resolve");
    expect(resolve?.steps[1]).toMatchObject({
      kind: "comment",
      text: "No MAC binding.",
      source: { line: 81 },
    });
    const multicast = top.find((s) => s.header.kind === "multicast");
    expect(childSections(multicast?.steps).map((s) => s.source.line)).toEqual([123, 140, 159, 176]);
    expect(doc.outputs.map((o) => o.port)).toEqual([
      "default_fedora-deployment-6c9b5f8d4-p8wzn",
      "default_web",
      "k8s-ovn-worker2",
      "kube-system_coredns-5d78c9869d-qm4zt",
    ]);
  });

  it("ARP flood: an omitted output, two VIF outputs, and a patch branch nested at column 8 that drops", () => {
    const doc = parse("gen-detailed-arp-flood-multicast.txt");
    const multicast = sections(doc)[1];
    const branches = childSections(multicast?.steps);
    expect(branches.map((b) => (b.header.kind === "pipeline" ? b.header.outport : ""))).toEqual([
      "default_client",
      "default_fedora-deployment-6c9b5f8d4-kx2vq",
      "k8s-ovn-worker",
      "stor-ovn-worker",
    ]);
    expect(branches[0]?.steps).toEqual([
      {
        kind: "comment",
        text: "omitting output because inport == outport && !flags.loopback",
        source: {
          line: 23,
          text: "            /* omitting output because inport == outport && !flags.loopback */",
        },
      },
    ]);
    const router = childSections(branches[3]?.steps)[0];
    expect(router?.indent).toBe(8);
    expect(router?.source.line).toBe(70);
    expect(stagesOf(router).map((s) => s.table)).toEqual([0, 1, 2, 3]);
    expect(doc.outputs.map((o) => o.port)).toEqual([
      "default_fedora-deployment-6c9b5f8d4-kx2vq",
      "k8s-ovn-worker",
    ]);
    expect(doc.drops.map((d) => [d.reason, d.stage, d.datapath, d.source?.line])).toEqual([
      ["no-output", undefined, "ovn-worker", 23],
      ["drop", "lr_in_ip_input", "ovn_cluster_router", 83],
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "k8s-ovn-worker" });
  });

  it("TTL 1: the router answers with an icmp4 time exceeded back to the client", () => {
    const doc = parse("gen-detailed-ttl1-icmp4.txt");
    const icmp = sections(doc).find((s) => s.title === "icmp4");
    expect(icmp?.source.line).toBe(63);
    expect(icmp?.steps.map((s) => s.kind === "action" && s.text).slice(0, 3)).toEqual([
      "eth.dst <-> eth.src;",
      "icmp4.type = 11;",
      "icmp4.code = 0;",
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "default_client", datapath: "ovn-worker" });
  });
});

describe("detailed form (public samples, other OVN versions)", () => {
  it("2016: stages without uuid, and an implicit drop in ls_in_l2_lkup", () => {
    const doc = parse("ovn-trace_russellb-2016_detailed_implicit-drop-l2-lkup.txt");
    const [portSec, lookup] = ovnTraceStages(doc);
    expect(portSec).toMatchObject({
      table: 0,
      stageName: "ls_in_port_sec_l2",
      codeLocation: "ovn-northd.c:2827",
      match: 'inport == "sw0-port1" && eth.src == {00:00:00:00:00:01}',
      priority: 50,
    });
    expect(portSec?.uuid).toBeUndefined();
    expect(lookup).toMatchObject({ table: 13, stageName: "ls_in_l2_lkup", noMatch: true });
    expect(doc.verdict).toEqual({
      kind: "dropped",
      reason: "no-match",
      message: "no match (implicit drop)",
      stage: "ls_in_l2_lkup",
      table: 13,
      datapath: "sw0",
      pipeline: "ingress",
      acl: false,
      source: { line: 7, text: "13. ls_in_l2_lkup: no match (implicit drop)" },
    });
  });

  it("2016: output to sw0-port2", () => {
    const doc = parse("ovn-trace_russellb-2016_detailed_l2_no-uuid.txt");
    expect(doc.verdict).toMatchObject({ kind: "output", port: "sw0-port2", portType: "", datapath: "sw0" });
    expect(ovnTraceStages(doc).map((s) => [s.table, s.uuid])).toEqual([
      [0, undefined],
      [13, undefined],
      [8, undefined],
    ]);
  });

  it("CONCATENATED is one trace: un-SNAT, DNAT to 10.0.0.6, then ct_next with the default state", () => {
    const doc = parse("ovn-trace_ovn-openstack_floating-ip_ct-snat-ct-dnat_detailed_CONCATENATED.txt");
    expect(doc.microflow).toBeUndefined();
    const headers = sections(doc).map((s) => s.header);
    expect(headers.filter((h) => h.kind === "conntrack")).toEqual([
      {
        kind: "conntrack",
        action: "ct_snat",
        comments: ["assuming no un-snat entry, so no change"],
        defaultState: false,
      },
      {
        kind: "conntrack",
        action: "ct_dnat",
        nat: { field: "ip4.dst", address: "10.0.0.6" },
        comments: [],
        defaultState: false,
      },
      {
        kind: "conntrack",
        action: "ct_next",
        ctState: "est|trk",
        comments: ["default (use --ct to customize)"],
        defaultState: true,
      },
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "dp", portType: "", datapath: "private" });
  });

  it("HEADER-ELIDED starts at the first title and still ends in port cp", () => {
    const doc = parse("ovn-trace_ovn-openstack_ipv6-routed_ct-next_detailed_HEADER-ELIDED.txt");
    expect(doc.microflow).toBeUndefined();
    expect(sections(doc)[0]?.source.line).toBe(1);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "cp", datapath: "n2" });
  });

  it("ovn-k interconnect: the acl_action stage loops with next(8) and the trace ends remote", () => {
    const doc = parse("ovn-trace_ovnk-ic_pod2pod-remote_detailed.txt");
    const loops = ovnTraceStages(doc).filter((s) => s.stageName === "ls_in_acl_action");
    expect(loops.map((s) => [s.table, s.uuid, s.priority])).toEqual([
      [9, "3eec76bb", 500],
      [9, "b327f7af", 500],
      [9, "b0f710dc", 0],
    ]);
    expect(loops[0]?.steps.map((s) => s.kind === "action" && s.text)).toEqual([
      "reg8[30..31] = 1;",
      "next(8);",
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "tstor-ovn-worker", portType: "remote" });
  });

  it("legacy 2021: ct_lb forks and a microflow without nw_frag", () => {
    const doc = parse("ovn-trace_ovnk-legacy-2021_pod2pod_detailed_ct_lb.txt");
    const ct = sections(doc).filter((s) => s.header.kind === "conntrack");
    expect(ct.map((s) => [s.title, s.source.line])).toEqual([
      ["ct_lb", 20],
      ["ct_lb", 109],
    ]);
    expect(doc.microflow?.fields.nw_frag).toBeUndefined();
    expect(doc.verdict).toMatchObject({ kind: "output", port: "default_fedora-deployment-7575f87ff9-4r5pg" });
  });

  it("TRUNCATED ANP drop: the ACL LOG is a section inside its stage", () => {
    const doc = parse("ovn-trace_ovnk_anp-acl-drop_ct-new_detailed_TRUNCATED.txt");
    const evalStage = findStage(doc, "369e6009");
    expect(evalStage.stageName).toBe("ls_in_acl_after_lb_eval");
    expect(evalStage.priority).toBe(27595);
    expect(evalStage.steps.map((s) => (s.kind === "section" ? `section ${s.source.line}` : s.kind))).toEqual([
      "action",
      "section 60",
      "action",
      "action",
    ]);
    const log = childSections(evalStage.steps)[0];
    expect(log?.indent).toBe(4);
    expect(log?.header).toMatchObject({
      kind: "log",
      name: "ANP:cluster-control:Egress:5",
      direction: "IN",
      verdict: "drop",
      severity: "alert",
    });
    // The author cut the output after this stage: the walk ends there, in an ACL stage.
    expect(doc.verdict).toMatchObject({
      kind: "dropped",
      reason: "no-output",
      stage: "ls_in_acl_after_lb_action",
      table: 19,
      uuid: "0cd7e938",
      acl: true,
    });
  });
});

describe("summary and minimal forms", () => {
  it("08 (summary): nested blocks down to the egress ACL drop in ovn-worker2", () => {
    const doc = parse("lab-08-ovn-trace-A-to-web-tcp80-summary.txt");
    expect(doc.form).toBe("summary");
    const [root] = nodes(doc);
    expect(root).toMatchObject({
      kind: "block",
      title: 'ingress(dp="ovn-worker", inport="default_client")',
      header: { kind: "pipeline", pipeline: "ingress", datapath: "ovn-worker", inport: "default_client" },
      source: { line: 2 },
      close: { line: 87, text: "};" },
    });
    const titles: string[] = [];
    for (let node: OvnTraceNode | undefined = root; node?.kind === "block";) {
      titles.push(node.title);
      node = [...node.children].reverse().find((c) => c.kind === "block");
    }
    expect(titles).toEqual([
      'ingress(dp="ovn-worker", inport="default_client")',
      "ct_lb_mark",
      'egress(dp="ovn-worker", inport="default_client", outport="stor-ovn-worker")',
      'ingress(dp="ovn_cluster_router", inport="rtos-ovn-worker")',
      'egress(dp="ovn_cluster_router", inport="rtos-ovn-worker", outport="rtos-ovn-worker2")',
      'ingress(dp="ovn-worker2", inport="stor-ovn-worker2")',
      'egress(dp="ovn-worker2", inport="stor-ovn-worker2", outport="default_web")',
      "ct_lb_mark",
    ]);
    expect(doc.outputs).toEqual([]);
    expect(doc.verdict).toEqual({
      kind: "dropped",
      reason: "drop",
      message: "drop;",
      datapath: "ovn-worker2",
      pipeline: "egress",
      acl: false,
      source: { line: 79, text: "                                drop;" },
    });
  });

  it("2016 summary: output to sw0-port2", () => {
    const doc = parse("ovn-trace_russellb-2016_summary_l2.txt");
    expect(doc.form).toBe("summary");
    expect(doc.verdict).toMatchObject({ kind: "output", port: "sw0-port2", portType: "", datapath: "sw0" });
  });

  it("generated summary: TCP 8080 delivered, TCP 80 with --ct=new twice dropped", () => {
    expect(parse("gen-summary-tcp8080-ct-new.txt").verdict).toMatchObject({
      kind: "output",
      port: "default_web",
      portType: "",
      datapath: "ovn-worker2",
    });
    expect(parse("gen-summary-tcp80-ct-new-x2.txt").verdict).toMatchObject({
      kind: "dropped",
      reason: "drop",
      datapath: "ovn-worker2",
      pipeline: "egress",
    });
    const blocked = parse("gen-summary-tcp80-ct-new.txt");
    expect(blocked.drops).toEqual([]);
    expect(blocked.verdict).toMatchObject({ kind: "dropped", reason: "no-output", datapath: "ovn-worker2" });
  });

  it('generated minimal: output("default_web") inside the second ct_lb_mark fork', () => {
    const doc = parse("gen-minimal-tcp8080-ct-new.txt");
    expect(doc.form).toBe("minimal");
    const [outer] = nodes(doc);
    expect(outer).toMatchObject({
      kind: "block",
      title: "ct_lb_mark",
      source: { line: 2 },
      close: { line: 11 },
    });
    const inner = outer?.kind === "block" ? outer.children.at(-1) : undefined;
    expect(inner).toMatchObject({
      kind: "block",
      title: "ct_lb_mark /* default (use --ct to customize) */",
      header: { kind: "conntrack", action: "ct_lb_mark", defaultState: true },
      children: [{ kind: "action", text: 'output("default_web");', source: { line: 9 } }],
    });
    expect(doc.verdict).toEqual({
      kind: "output",
      port: "default_web",
      source: { line: 9, text: '        output("default_web");' },
    });
  });

  it("generated minimal: nothing is output for TCP 80", () => {
    for (const name of ["gen-minimal-tcp80-ct-new.txt", "gen-minimal-tcp80-ct-new-x2.txt"]) {
      const doc = parse(name);
      expect(doc.outputs).toEqual([]);
      expect(doc.verdict).toMatchObject({ kind: "dropped", reason: "no-output" });
    }
    const [outer] = nodes(parse("gen-minimal-tcp80-ct-new.txt"));
    // The second fork is printed bare, with its default-state comment, because nothing follows it.
    expect(outer?.kind === "block" && outer.children.at(-1)).toMatchObject({
      kind: "block",
      title: "ct_lb_mark /* default (use --ct to customize) */",
      children: [],
    });
  });

  it("OpenStack minimal: the ACL drop shows no output, the allowed one outputs to cp", () => {
    const drop = parse("ovn-trace_ovn-openstack_minimal_acl-drop_ct-new-x2.txt");
    const [fork] = nodes(drop);
    expect(fork).toMatchObject({
      kind: "block",
      header: { kind: "conntrack", action: "ct_next", ctState: "new|trk" },
      children: [
        { kind: "action", text: "ip.ttl--;" },
        { kind: "action", text: "eth.src = fa:16:3e:19:9f:46;" },
        { kind: "action", text: "eth.dst = fa:16:3e:89:f2:36;" },
        { kind: "block", title: "ct_next(ct_state=new|trk)", children: [] },
      ],
    });
    expect(drop.verdict).toMatchObject({ kind: "dropped", reason: "no-output" });
    const allowed = parse("ovn-trace_ovn-openstack_minimal_allowed_ct-new-x2_HEADER-ELIDED.txt");
    expect(allowed.verdict).toMatchObject({ kind: "output", port: "cp", source: { line: 6 } });
  });

  it("2016 minimal through a router", () => {
    const doc = parse("ovn-trace_russellb-2016_minimal_routed.txt");
    expect(doc.microflow?.protocol).toBe("ip");
    expect(nodes(doc).map((n) => n.kind === "action" && n.text)).toEqual([
      "ip.ttl--;",
      "eth.src = 00:00:00:00:ff:02;",
      "eth.dst = 00:00:00:00:00:04;",
      'output("sw1-port2");',
    ]);
    expect(doc.verdict).toMatchObject({ kind: "output", port: "sw1-port2" });
  });
});

describe("several traces and errors", () => {
  it("--all: one document per form, sharing the microflow line", () => {
    const input = text("gen-all-tcp8080-ct-new.txt");
    const docs = parseOvnTraces(input);
    expect(docs.map((d) => [d.form, d.banner?.line, d.microflow?.source.line])).toEqual([
      ["detailed", 2, 1],
      ["summary", 137, 1],
      ["minimal", 228, 1],
    ]);
    for (const doc of docs) expect(doc.verdict).toMatchObject({ kind: "output", port: "default_web" });
    expect(() => parseOvnTrace(input)).toThrow(ParseError);
    try {
      parseOvnTrace(input);
    } catch (e) {
      expect((e as ParseError).line).toBe(137);
    }
  });

  it("two concatenated runs are two documents", () => {
    const a = text("lab-06-ovn-trace-A-to-web-tcp80-DROPPED.txt");
    const b = text("ic-19-ovn-trace-WRONGZONE-ovn-worker2-SB-with-src-pod.txt");
    const docs = parseOvnTraces(a + b);
    expect(docs.map((d) => d.verdict.kind)).toEqual(["dropped", "error"]);
    expect(docs[1]?.verdict.source?.line).toBe(a.split("\n").length);
  });

  it("unknown port and syntax errors", () => {
    expect(parse("gen-error-unknown-port.txt").verdict).toMatchObject({
      kind: "error",
      message: 'unknown port "nosuchport"',
      port: "nosuchport",
    });
    const syntax = parse("gen-error-syntax.txt");
    expect(syntax.form === "error" && syntax.error.reason).toBe("parse-error");
    expect(syntax.verdict.kind === "error" && syntax.verdict.message).toBe(
      "error parsing flow: Syntax error at end of input expecting constant.",
    );
  });

  it("ovn-trace's own log lines and an `ovn-trace:` fatal line (stderr captured too)", () => {
    const doc = parseOvnTrace(
      [
        "2026-11-23T12:00:09Z|00001|ovntrace|WARN|microflow does not specify ingress port",
        "ovn-trace: utilities/ovn-trace.c:2875: assertion in_key failed in execute_check_in_port_sec()",
      ].join("\n"),
    );
    expect(doc.logLines).toEqual([
      {
        module: "ovntrace",
        level: "WARN",
        message: "microflow does not specify ingress port",
        source: {
          line: 1,
          text: "2026-11-23T12:00:09Z|00001|ovntrace|WARN|microflow does not specify ingress port",
        },
      },
    ]);
    expect(doc.form === "error" && doc.error.reason).toBe("fatal");
    expect(doc.unconsumed).toEqual([]);
  });
});

describe("errors in a trace (synthetic, in the format of ovn-trace.c)", () => {
  const head = [
    "# udp,reg14=0x3,vlan_tci=0x0000,dl_src=0a:58:0a:f4:01:03,dl_dst=0a:58:0a:f4:01:01",
    "",
    'ingress(dp="ovn-worker", inport="default_client")',
    "-------------------------------------------------",
  ];

  it("a `***` line is an error drop in its stage", () => {
    const doc = parseOvnTrace(
      [
        ...head,
        "12. ls_in_lb (northd.c:7558): ct.new && ip4.dst == 10.96.0.10, priority 120, uuid 01fde769",
        "    ct_lb_mark(backends=[fd00::3]:53);",
        "    *** no load balancing destination (use --lb-dst)",
      ].join("\n"),
    );
    expect(doc.verdict).toMatchObject({
      kind: "dropped",
      reason: "error",
      message: "no load balancing destination (use --lb-dst)",
      stage: "ls_in_lb",
      uuid: "01fde769",
      source: { line: 7 },
    });
  });

  it("a title cut before its underline is a truncation", () => {
    const input = [
      ...head,
      " 0. ls_in_check_port_sec (northd.c:8432): 1, priority 50, uuid 4af84e96",
      "    next;",
      "",
      'egress(dp="ovn-worker", inport="a", outport="b")',
    ];
    expect(() => parseOvnTrace(input.join("\n"))).toThrow(
      /line 8: section title without its dashed underline/,
    );
  });

  it("a summary cut before its closing braces is a truncation", () => {
    const input = text("lab-08-ovn-trace-A-to-web-tcp80-summary.txt").split("\n").slice(0, 60).join("\n");
    expect(() => parseOvnTrace(input)).toThrow(/block not closed/);
  });

  it("foreign text and empty input are rejected", () => {
    expect(() => parseOvnTrace("")).toThrow(ParseError);
    expect(() => parseOvnTrace("hello world\nthis is not a trace")).toThrow(ParseError);
    const ofprotoTrace =
      'Flow: in_port=1\n\nbridge("br-int")\n----------------\n 0. in_port=1, priority 100\n    drop';
    expect(() => parseOvnTrace(ofprotoTrace)).toThrow(/line 1: not a detailed ovn-trace/);
    expect(looksLikeOvnTrace('Flow: in_port=1,vlan_tci=0x0000\n\nbridge("br-int")\n----------------')).toBe(
      false,
    );
    expect(looksLikeOvnTrace("hello world")).toBe(false);
  });
});

describe("fuzz: cut, shuffled, interleaved and mutated fixtures", () => {
  it("never throws anything but a ParseError, and never an internal one", () => {
    const inputs = mutatedTexts(seededRandom(0x5eed), FIXTURES.map(text), 3000, {
      alphabet: '{}();"-* \n0123456789abc#/=,.\u00e9\u0000\ud83d'.split(""),
      maxReplacements: 6,
    });
    expectOnlyParseErrors([parseOvnTrace, parseOvnTraces, looksLikeOvnTrace], inputs);
  });
});
