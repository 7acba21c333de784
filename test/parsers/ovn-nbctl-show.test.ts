import { describe, expect, it } from "vitest";
import type { NbctlShowDocument, NbRouter, NbSwitch } from "../../src/model/ovn-show.js";
import type { SourceRef } from "../../src/model/source.js";
import { looksLikeNbctlShow, parseNbctlShow } from "../../src/parsers/ovn-nbctl-show.js";
import { detectKind } from "../../src/parsers/registry.js";
import { summarizeParsed } from "../../src/render/parsed-text.js";
import { expectLosslessParses, fixtureNames, fixtureText } from "../helpers/fixtures.js";
import { expectDamagedSamplesAccountedFor } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Fixtures and their sources: test/fixtures/ovn-nbctl-show/README.md.
const NAMES = fixtureNames("ovn-nbctl-show");
const ALL: Record<string, string> = Object.fromEntries(
  NAMES.map((name) => [name, fixtureText(`ovn-nbctl-show/${name}`)]),
);

function fixture(prefix: string): string {
  const name = NAMES.find((n) => n.startsWith(prefix));
  if (name === undefined) throw new Error(`no fixture ${prefix}`);
  return ALL[name] ?? "";
}

function accountedLines(doc: NbctlShowDocument): SourceRef[] {
  return [
    ...doc.switches.flatMap((s) => [
      s.source,
      ...s.ports.flatMap((p) => [p.source, ...p.properties.map((q) => q.source)]),
    ]),
    ...doc.routers.flatMap((r) => [
      r.source,
      ...[...r.ports, ...r.nats].flatMap((p) => [p.source, ...p.properties.map((q) => q.source)]),
    ]),
    ...doc.elisions.map((e) => e.source),
    ...doc.unconsumed,
  ];
}

function switchNamed(doc: NbctlShowDocument, name: string): NbSwitch {
  const found = doc.switches.find((s) => s.name === name);
  if (found === undefined) throw new Error(`no switch ${name}`);
  return found;
}

function routerNamed(doc: NbctlShowDocument, name: string): NbRouter {
  const found = doc.routers.find((r) => r.name === name);
  if (found === undefined) throw new Error(`no router ${name}`);
  return found;
}

const ELIDED = fixture("public_ovn-nbctl-show_ovnk-kind_ELIDED");
const IC = fixture("lab-ic_ovn-worker_");
const CENTRAL = fixture("lab-dualstack-central_nbctl-show.txt");
const OPENSTACK = fixture("scratch-nb_openstack-like");

describe("parseNbctlShow on every real fixture", () => {
  it.each(NAMES)("%s: every line accounted for, none unconsumed", (name) => {
    const text = ALL[name] ?? "";
    expectLosslessParses({ [name]: text }, parseNbctlShow, accountedLines);
    const doc = parseNbctlShow(text);
    expect(doc.switches.length + doc.routers.length).toBeGreaterThan(0);
    expect(looksLikeNbctlShow(text)).toBe(true);
    expect(detectKind(new TextEncoder().encode(text))).toBe("ovn-nbctl-show");
  });
});

describe("ovn-kubernetes topologies", () => {
  it("reads the published excerpt, elisions included", () => {
    const doc = parseNbctlShow(ELIDED);
    expect(doc.elisions.map((e) => e.source.line)).toEqual([7, 19]);
    const sw = switchNamed(doc, "ovn-control-plane");
    expect(sw).toMatchObject({ uuid: "a04f416c-620d-4108-a3c1-68b89154ed26", alias: null });
    expect(sw.ports[0]).toMatchObject({
      name: "k8s-ovn-control-plane",
      type: null,
      addresses: [{ text: "02:5e:fd:2b:13:62 10.244.2.2", mac: "02:5e:fd:2b:13:62", ips: ["10.244.2.2"] }],
    });
    expect(sw.ports[1]).toMatchObject({
      type: "router",
      routerPort: "rtos-ovn-control-plane",
      addresses: [],
    });
    const gr = routerNamed(doc, "GR_ovn-worker2");
    expect(gr.ports.map((p) => [p.name, p.mac, p.networks])).toEqual([
      ["rtoe-GR_ovn-worker2", "02:42:ac:12:00:04", ["172.18.0.4/16"]],
      ["rtoj-GR_ovn-worker2", "0a:58:64:40:00:03", ["100.64.0.3/16"]],
    ]);
    expect(gr.nats).toEqual([
      expect.objectContaining({
        uuid: "7a293824-f025-45b2-9c9e-9565ff59f0c0",
        externalIp: "172.18.0.4",
        externalPortRange: null,
        logicalIp: "10.244.0.0/16",
        type: "snat",
      }),
    ]);
  });

  it("reads an interconnect zone: the transit switch and its remote ports", () => {
    const doc = parseNbctlShow(IC);
    const transit = switchNamed(doc, "transit_switch");
    expect(transit.ports.map((p) => [p.name, p.type])).toEqual([
      ["tstor-ovn-worker", "router"],
      ["tstor-ovn-worker2", "remote"],
      ["tstor-ovn-control-plane", "remote"],
    ]);
    expect(transit.ports[1]?.addresses).toEqual([
      { text: "0a:58:64:58:00:04 100.88.0.4/16", mac: "0a:58:64:58:00:04", ips: ["100.88.0.4/16"] },
    ]);
    expect(switchNamed(doc, "ext_ovn-worker").ports[0]).toMatchObject({
      type: "localnet",
      addresses: [{ text: "unknown", mac: null, ips: [] }],
    });
  });

  it("reads a central dual-stack NB", () => {
    const doc = parseNbctlShow(CENTRAL);
    expect(doc.switches).toHaveLength(7);
    expect(doc.routers.map((r) => r.name).sort()).toEqual([
      "GR_ovn-control-plane",
      "GR_ovn-worker",
      "GR_ovn-worker2",
      "ovn_cluster_router",
    ]);
    const web = switchNamed(doc, "ovn-worker2").ports.find((p) => p.name === "default_web");
    expect(web?.addresses[0]?.ips).toEqual(["10.244.2.4", "fd00:10:244:2::4"]);
    const join = routerNamed(doc, "GR_ovn-worker").ports.find((p) => p.name === "rtoj-GR_ovn-worker");
    expect(join?.networks).toEqual(["100.64.0.3/16", "fd98::3/64"]);
  });
});

describe("the lines ovn-kubernetes never prints (scratch NB)", () => {
  const doc = parseNbctlShow(OPENSTACK);

  it("reads names with (aka ...), a switch without ports", () => {
    expect(switchNamed(doc, "empty-switch").ports).toEqual([]);
    const net = doc.switches[1];
    expect(net).toMatchObject({ name: "neutron-9f1c2b3a-4d5e-4f60-8a7b-1c2d3e4f5a6b", alias: "private" });
    expect(net?.ports.find((p) => p.alias === "web-vm")?.name).toBe("6a4a7d6c-8e1b-4b7a-9a52-0f3c2d1e9b01");
    expect(routerNamed(doc, "neutron-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9").alias).toBe("router1");
  });

  it("reads container ports, several addresses and non-MAC addresses", () => {
    const ports = doc.switches[1]?.ports ?? [];
    expect(ports.find((p) => p.name === "container1")).toMatchObject({
      parent: "6a4a7d6c-8e1b-4b7a-9a52-0f3c2d1e9b01",
      tag: 42,
    });
    expect(ports.find((p) => p.name === "vip-port")?.addresses.map((a) => a.ips)).toEqual([
      ["10.0.0.100"],
      ["10.0.0.101"],
    ]);
    expect(ports.find((p) => p.name === "0d3b9c7e-5a42-4f1e-8c6d-2b7e1f0a3c55")?.addresses).toEqual([
      { text: "dynamic", mac: null, ips: [] },
    ]);
  });

  it("reads route tables, gateway chassis and every kind of NAT", () => {
    const lr = routerNamed(doc, "neutron-5e6f7a8b-9c0d-4e1f-a2b3-c4d5e6f7a8b9");
    expect(lr.ports[0]).toMatchObject({
      name: "lrp-gw",
      routeTable: "rtb-1",
      gatewayChassis: ["chassis-1", "chassis-2"],
      ipv6Lla: null,
      peer: null,
    });
    expect(lr.ports[0]?.properties.map((p) => p.key)).toEqual([
      "mac",
      "networks",
      "route-table",
      "gateway chassis",
    ]);
    expect(lr.nats.map((n) => [n.type, n.externalIp, n.externalPortRange, n.logicalIp])).toEqual([
      ["dnat", "172.24.4.30", "8080-8090", "10.0.0.6"],
      ["snat", "172.24.4.10", null, "10.0.0.0/24"],
      ["dnat_and_snat", "172.24.4.20", null, "10.0.0.5"],
    ]);
  });
});

describe("other OVN versions", () => {
  it("reads the form before OVN 2.8, every line indented by 4 more spaces", () => {
    const old = ELIDED.split("\n")
      .map((l) => (l === "" || l === "[...]" ? l : `    ${l}`))
      .join("\n");
    const doc = parseNbctlShow(old);
    expect(doc.unconsumed).toEqual([]);
    expect({ ...doc, unconsumed: [], switches: [], routers: [] }).toEqual({
      ...parseNbctlShow(ELIDED),
      unconsumed: [],
      switches: [],
      routers: [],
    });
    expect(doc.routers[0]?.nats[0]?.externalIp).toBe("172.18.0.4");
  });

  it("keeps ipv6-lla and peer (OVN 24.09+) and lines it does not know", () => {
    const text = [
      "router 858c8778-ffd5-49aa-8aff-6691defbd1bc (lr0)",
      "    port lrp0",
      '        mac: "0a:58:64:40:00:03"',
      '        ipv6-lla: "fe80::858:64ff:fe40:3"',
      '        networks: ["100.64.0.3/16"]',
      "        peer: lrp1",
      "        future thing: 7",
      "switch a04f416c-620d-4108-a3c1-68b89154ed26 (ls0)",
      "    port lsp0",
      "        peer: lsp1",
    ].join("\n");
    const doc = parseNbctlShow(text);
    expect(doc.unconsumed).toEqual([]);
    expect(doc.routers[0]?.ports[0]).toMatchObject({ ipv6Lla: "fe80::858:64ff:fe40:3", peer: "lrp1" });
    expect(doc.routers[0]?.ports[0]?.properties.at(-1)).toMatchObject({ key: "future thing", value: "7" });
    expect(doc.switches[0]?.ports[0]?.peer).toBe("lsp1");
  });
});

describe("parseNbctlShow on other input", () => {
  it("returns an empty document for empty output (an empty NB)", () => {
    expect(parseNbctlShow("")).toEqual({
      kind: "ovn-nbctl-show",
      switches: [],
      routers: [],
      elisions: [],
      unconsumed: [],
      lineCount: 0,
    });
  });

  it("rejects text that is not ovn-nbctl show", () => {
    expect(() =>
      parseNbctlShow("ovn-nbctl: unix:/var/run/ovn/ovnnb_db.sock: database connection failed\n"),
    ).toThrow(/line 1: not ovn-nbctl show output/);
    expect(() => parseNbctlShow(fixtureText("ovn-sbctl-show/lab-ic_ovn-worker_sbctl-show.txt"))).toThrow(
      ParseError,
    );
  });

  it("rejects a cut switch line, naming it", () => {
    expect(() => parseNbctlShow(`${ELIDED}switch a04f416c-620d-4108-a3c1\n`)).toThrow(
      /line 20: malformed switch/,
    );
  });

  it("reads long mangled lines in linear time", () => {
    const start = performance.now();
    const head = "switch a04f416c-620d-4108-a3c1-68b89154ed26 (ls0)";
    const doc = parseNbctlShow(
      `${head}\n    port x${" (aka y".repeat(30_000)}\n        ${"a ".repeat(50_000)}:\n`,
    );
    expect(doc.switches[0]?.ports[0]?.alias).toBeNull();
    expect(doc.unconsumed.map((u) => u.line)).toEqual([3]);
    expect(() => parseNbctlShow(`switch a04f416c-${"(".repeat(100_000)}\n`)).toThrow(ParseError);
    expect(performance.now() - start).toBeLessThan(1000);
  });

  it("lists lines outside any port, and ports outside any switch, as unconsumed", () => {
    const doc = parseNbctlShow(
      `    port orphan\n${ELIDED.split("\n").slice(0, 6).join("\n")}\nhello: world\n`,
    );
    expect(doc.unconsumed.map((u) => u.line)).toEqual([1]);
    const after = parseNbctlShow(`[...]\n        type: router\n${ELIDED}`);
    expect(after.unconsumed.map((u) => u.line)).toEqual([2]);
  });
});

describe("looksLikeNbctlShow", () => {
  it("rejects other ovs/ovn outputs", () => {
    expect(looksLikeNbctlShow(fixtureText("ovn-sbctl-show/lab-ic_ovn-worker_sbctl-show.txt"))).toBe(false);
    expect(looksLikeNbctlShow(fixtureText("openflow/ovn-worker_breth0.flows.txt"))).toBe(false);
    expect(looksLikeNbctlShow(fixtureText("lflow-list/ovn-sbctl-lflow-list_ovnk-kind_GR_ELIDED.txt"))).toBe(
      false,
    );
  });
});

describe("parse -o text of ovn-nbctl show", () => {
  it("lists the switches and routers", () => {
    expect(summarizeParsed(parseNbctlShow(IC))).toBe(
      [
        "ovn-nbctl show: 4 switches, 2 routers",
        "  switch transit_switch: 3 ports (2 remote)",
        "  switch ovn-worker: 4 ports",
        "  switch ext_ovn-worker: 2 ports, localnet",
        "  switch join: 2 ports",
        "  router ovn_cluster_router: 3 ports (10.244.1.1/24 100.64.0.1/16 100.88.0.3/16), 0 NAT rules",
        "  router GR_ovn-worker: 2 ports (100.64.0.3/16 172.18.0.3/16), 1 NAT rules",
      ].join("\n"),
    );
  });
});

describe("parseNbctlShow fuzz", () => {
  it("throws nothing but ParseError on cut, shuffled, interleaved and mutated fixtures", () => {
    expectDamagedSamplesAccountedFor(parseNbctlShow, accountedLines, {
      seed: 0x0b5e,
      sources: Object.values(ALL),
      alphabet: '()[]":, \n0a-fswitch router port nat type: aka',
      windowLines: 20,
    });
  });
});
