import { createHash } from "node:crypto";
import {
  copyFileSync,
  cpSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  truncateSync,
  unlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { InputError } from "../../src/errors.js";
import { DEFAULT_SCENARIO } from "../../src/lab/defaults.js";
import { labDown, labUp, nodeEnv, runOnNode, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { readOvsdbFile } from "../../src/ovsdb/file.js";
import { run } from "../../src/ovs/exec.js";
import type { SnapshotManifest, SnapshotNode } from "../../src/snapshot/format.js";
import { collectFromFiles } from "../../src/snapshot/files.js";
import { flowsUseMeters, isUsableDump, restorableFlows } from "../../src/snapshot/flow-dump.js";
import { collectFromSos } from "../../src/snapshot/sos.js";
import { newLabDir } from "../helpers/lab.js";
import type { TraceTarget } from "../../src/model/target.js";

/** Ground truth: the nodes the scenario file declares. */
const SCENARIO_NODES = (
  parse(readFileSync(DEFAULT_SCENARIO, "utf8")) as { nodes: { name: string }[] }
).nodes.map((n) => n.name);

let state: LabState;
let work: string;
/** sos report trees, one per node: `<work>/trees/sosreport-<node>-2026`. */
const trees = new Map<string, string>();
const timings: Record<string, number> = {};

async function must(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(argv, env === undefined ? {} : { env });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

async function onNode(node: string, argv: readonly string[]): Promise<string> {
  const r = await runOnNode(state, node, argv);
  if (r.exitCode !== 0) throw new Error(`${node}: ${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr}`);
  return r.stdout;
}

function zoneOf(node: string): string {
  const n = state.cluster.nodes.find((x) => x.name === node);
  if (n === undefined) throw new Error(`no lab node ${node}`);
  return n.zone;
}

function confDbSocket(node: string): string {
  return `unix:${nodeEnv(state, node).OVS_RUNDIR ?? ""}/db.sock`;
}

async function bridgesOf(node: string): Promise<string[]> {
  return (await onNode(node, ["ovs-vsctl", "-t", "5", "list-br"])).split("\n").filter(Boolean);
}

/** A directory shaped like a sos report of one lab node, filled with the real commands' outputs. */
async function buildSosTree(node: string, parent: string): Promise<string> {
  const top = join(parent, `sosreport-${node}-2026`);
  const ovs = join(top, "sos_commands/openvswitch");
  mkdirSync(ovs, { recursive: true });
  mkdirSync(join(top, "sos_logs"));
  writeFileSync(join(top, "sos_logs/sos.log"), "sos report log\n");
  writeFileSync(join(top, "hostname"), `${node}\n`);
  const put = (name: string, text: string): void => {
    writeFileSync(join(ovs, name), text);
  };
  put("ovs-vsctl_-t_5_list-br", await onNode(node, ["ovs-vsctl", "-t", "5", "list-br"]));
  for (const br of await bridgesOf(node)) {
    // what the openvswitch plugin runs: the plain dump (OpenFlow 1.0) and one per allowed version
    put(`ovs-ofctl_dump-flows_${br}`, await onNode(node, ["ovs-ofctl", "dump-flows", br]));
    put(
      `ovs-ofctl_-O_OpenFlow13_dump-flows_${br}`,
      await onNode(node, ["ovs-ofctl", "-O", "OpenFlow13", "dump-flows", br]),
    );
    put(
      `ovs-ofctl_-O_OpenFlow15_dump-flows_${br}`,
      await onNode(node, ["ovs-ofctl", "-O", "OpenFlow15", "dump-flows", br]),
    );
    put(
      `ovs-ofctl_-O_OpenFlow15_dump-groups_${br}`,
      await onNode(node, ["ovs-ofctl", "-O", "OpenFlow15", "dump-groups", br]),
    );
    put(
      `ovs-ofctl_-O_OpenFlow15_dump-tlv-map_${br}`,
      await onNode(node, ["ovs-ofctl", "-O", "OpenFlow15", "dump-tlv-map", br]),
    );
  }
  put("ovs-ofctl_-t_5_--version", await onNode(node, ["ovs-ofctl", "-t", "5", "--version"]));
  put("ovs-appctl_ovs.route.show", await onNode(node, ["ovs-appctl", "ovs/route/show"]));
  put("ovs-appctl_tnl.arp.show", await onNode(node, ["ovs-appctl", "tnl/arp/show"]));
  put("ovs-appctl_dpif.show", await onNode(node, ["ovs-appctl", "dpif/show"]));
  mkdirSync(join(top, "var/lib/openvswitch"), { recursive: true });
  writeFileSync(
    join(top, "var/lib/openvswitch/conf.db"),
    await must(["ovsdb-client", "backup", confDbSocket(node), "Open_vSwitch"]),
  );
  const dbs = labLayout(state.dir).dbs(zoneOf(node));
  mkdirSync(join(top, "var/lib/ovn/etc"), { recursive: true });
  writeFileSync(
    join(top, "var/lib/ovn/etc/ovnnb_db.db"),
    await must(["ovsdb-client", "backup", dbs.nb, "OVN_Northbound"]),
  );
  writeFileSync(
    join(top, "var/lib/ovn/etc/ovnsb_db.db"),
    await must(["ovsdb-client", "backup", dbs.sb, "OVN_Southbound"]),
  );
  return top;
}

function tree(node: string): string {
  const t = trees.get(node);
  if (t === undefined) throw new Error(`no tree for ${node}`);
  return t;
}

/** A copy of a node's tree (to damage) under a fresh directory; returns the copy's top directory. */
function copyTree(node: string): string {
  const dir = mkdtempSync(join(work, "copy-"));
  const top = join(dir, `sosreport-${node}-2026`);
  cpSync(tree(node), top, { recursive: true });
  return top;
}

async function tarball(top: string, flag: "-cJf" | "-czf", name: string): Promise<string> {
  const file = join(work, name);
  await must(["tar", "-C", dirname(top), flag, file, basename(top)]);
  return file;
}

function newOut(): string {
  return join(mkdtempSync(join(work, "out-")), "snapshot");
}

/** `ovs-ofctl parse-flows`: OVS's own normalised form of every flow of a file (xids dropped), sorted. */
async function parsedFlows(file: string): Promise<string[]> {
  const out = await must(["ovs-ofctl", "-O", "OpenFlow15", "parse-flows", file]);
  return out
    .split("\n")
    .filter((l) => l.startsWith("OFPT_FLOW_MOD"))
    .map((l) => l.replace(/\(xid=0x[0-9a-f]+\)/, ""))
    .sort();
}

/** The live flows of a bridge, without statistics, as OVS normalises them. */
async function liveFlows(node: string, bridge: string): Promise<string[]> {
  const dump = await onNode(node, ["ovs-ofctl", "-O", "OpenFlow15", "--no-stats", "dump-flows", bridge]);
  const file = join(mkdtempSync(join(work, "live-")), "flows");
  writeFileSync(
    file,
    dump
      .split("\n")
      .filter((l) => !/_FLOW reply/.test(l))
      .join("\n"),
  );
  return parsedFlows(file);
}

async function liveGroups(node: string, bridge: string): Promise<string[]> {
  const dump = await onNode(node, ["ovs-ofctl", "-O", "OpenFlow15", "dump-groups", bridge]);
  return dump
    .split("\n")
    .map((l) => l.trim())
    .filter((l) => l.startsWith("group_id="))
    .sort();
}

/** Row count per table, from `ovsdb-client dump -f json` of a live database. */
async function liveRowCounts(remote: string, db: string): Promise<Record<string, number>> {
  const out = await must(["ovsdb-client", "dump", "-f", "json", remote, db]);
  const counts: Record<string, number> = {};
  for (const line of out.split("\n").filter(Boolean)) {
    const t = JSON.parse(line) as { caption: string; data: unknown[] };
    counts[t.caption.replace(/ table$/, "")] = t.data.length;
  }
  return counts;
}

function snapshotRowCounts(out: string, file: string): Record<string, number> {
  const db = readOvsdbFile(readFileSync(join(out, file)));
  return Object.fromEntries(Object.entries(db.tables).map(([t, rows]) => [t, Object.keys(rows).length]));
}

function nodeOf(m: SnapshotManifest, name: string): SnapshotNode {
  const n = m.nodes.find((x) => x.name === name);
  if (n === undefined)
    throw new Error(`manifest has no node ${name}: ${m.nodes.map((x) => x.name).join(", ")}`);
  return n;
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (e) {
    return e;
  }
  throw new Error("expected a rejection");
}

beforeAll(async () => {
  state = (await labUp(loadScenarioFile(DEFAULT_SCENARIO), newLabDir())).state;
  work = mkdtempSync(join(tmpdir(), "sos-test-"));
  mkdirSync(join(work, "trees"));
  for (const n of SCENARIO_NODES) trees.set(n, await buildSosTree(n, join(work, "trees")));
});

afterAll(async () => {
  await labDown(state.dir);
  rmSync(work, { recursive: true, force: true });
  console.log(`collect timings (ms): ${JSON.stringify(timings)}`);
});

describe("collectFromSos on the interconnect lab", () => {
  let out: string;
  let m: SnapshotManifest;

  beforeAll(async () => {
    const [cp, w1, w2] = SCENARIO_NODES as [string, string, string];
    const xz = await tarball(tree(cp), "-cJf", `sosreport-${cp}-2026.tar.xz`);
    const gz = await tarball(tree(w1), "-czf", `sosreport-${w1}-2026.tar.gz`);
    out = newOut();
    const t0 = performance.now();
    m = await collectFromSos([xz, gz, tree(w2)], out);
    timings["3 reports (.tar.xz, .tar.gz, directory)"] = Math.round(performance.now() - t0);
  });

  it("is enough to trace offline: the same verdicts as the live lab, and the policy that drops named", async () => {
    const { networkPolicies } = parse(readFileSync(DEFAULT_SCENARIO, "utf8")) as {
      networkPolicies: { namespace: string; name: string }[];
    };
    const policy = networkPolicies[0];
    const live = LabBackend.open(state.dir);
    const offline = await SnapshotBackend.open(out);
    try {
      const client = { namespace: "default", name: "client" };
      const targets: TraceTarget[] = [
        {
          src: client,
          dst: { kind: "pod", namespace: "default", name: "web" },
          protocol: "tcp",
          dstPort: 8080,
        },
        {
          src: client,
          dst: { kind: "pod", namespace: "default", name: "web" },
          protocol: "tcp",
          dstPort: 80,
        },
        {
          src: client,
          dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
          protocol: "udp",
          dstPort: 53,
        },
      ];
      const verdicts = async (b: ClusterBackend, t: TraceTarget) =>
        (await runTraces(b, await resolveTarget(b, t), { skipDetrace: true, allBackends: true })).map((r) =>
          JSON.stringify([r.forward.verdict, r.reply?.verdict], (k, v: unknown) =>
            k === "source" ? undefined : v,
          ),
        );
      for (const t of targets) expect(await verdicts(offline, t)).toEqual(await verdicts(live, t));
      const [dropped] = await runTraces(offline, await resolveTarget(offline, targets[1] as TraceTarget), {
        skipDetrace: true,
      });
      const v = dropped?.forward.verdict;
      expect(v?.kind).toBe("dropped");
      expect(v?.kind === "dropped" ? v.explanation : "").toContain(
        `NetworkPolicy ${policy?.namespace ?? ""}/${policy?.name ?? ""}`,
      );
    } finally {
      await offline.close();
    }
  });

  it("lists the three nodes by their real names, in three zones, interconnect", () => {
    expect(m.source.kind).toBe("sos");
    expect(m.nodes.map((n) => n.name)).toEqual(SCENARIO_NODES);
    expect(m.shape).toBe("interconnect");
    expect(m.zones.map((z) => z.name).sort()).toEqual(SCENARIO_NODES.map(zoneOf).sort());
    for (const n of m.nodes) {
      expect(n.zone).toBe(zoneOf(n.name));
      expect(n.status).toBe("complete");
      expect(n.missing).toEqual([]);
      expect(n.confDb).toBe(`nodes/${n.name}/conf.db`);
    }
    for (const z of m.zones) expect(z.missing).toEqual([]);
    expect(m.problems).toEqual([]);
  });

  it("names each zone as its NB does", async () => {
    for (const n of SCENARIO_NODES) {
      const live = (await onNode(n, ["ovn-nbctl", "get", "NB_Global", ".", "name"]))
        .trim()
        .replace(/^"|"$/g, "");
      expect(nodeOf(m, n).zone).toBe(live);
    }
  });

  it("keeps every bridge's flows in a form OVS parses, equal to the live flows without statistics", async () => {
    for (const n of SCENARIO_NODES) {
      const node = nodeOf(m, n);
      expect(node.bridges.map((b) => b.name).sort()).toEqual((await bridgesOf(n)).sort());
      for (const b of node.bridges) {
        expect(b.flows).toBeDefined();
        const text = readFileSync(join(out, b.flows ?? ""), "utf8");
        expect(text).not.toMatch(/duration=|n_packets=|n_bytes=|idle_age=|hard_age=|_FLOW reply/);
        const ours = await parsedFlows(join(out, b.flows ?? ""));
        const live = await liveFlows(n, b.name);
        expect(ours.length).toBe(text.split("\n").filter(Boolean).length);
        expect(ours.length).toBe(live.length);
        expect(ours).toEqual(live);
      }
    }
  });

  it("keeps the groups and the TLV map as the bridges have them", async () => {
    for (const n of SCENARIO_NODES) {
      for (const b of nodeOf(m, n).bridges) {
        const groups = readFileSync(join(out, b.groups ?? ""), "utf8")
          .split("\n")
          .filter(Boolean)
          .sort();
        expect(groups).toEqual(await liveGroups(n, b.name));
        const tlv = readFileSync(join(out, b.tlvMap ?? ""), "utf8");
        expect(tlv).toBe(await onNode(n, ["ovs-ofctl", "-O", "OpenFlow15", "dump-tlv-map", b.name]));
      }
      expect(nodeOf(m, n).bridges.find((b) => b.name === "br-int")?.groups).toBeDefined();
    }
  });

  it("stores databases our reader reads, with the live row counts", async () => {
    for (const n of SCENARIO_NODES) {
      expect(snapshotRowCounts(out, nodeOf(m, n).confDb ?? "")).toEqual(
        await liveRowCounts(confDbSocket(n), "Open_vSwitch"),
      );
    }
    for (const z of m.zones) {
      const dbs = labLayout(state.dir).dbs(z.name);
      expect(snapshotRowCounts(out, z.nb ?? "")).toEqual(await liveRowCounts(dbs.nb, "OVN_Northbound"));
      expect(snapshotRowCounts(out, z.sb ?? "")).toEqual(await liveRowCounts(dbs.sb, "OVN_Southbound"));
    }
  });

  it("keeps the runtime state the reports have, and checksums every file", async () => {
    for (const n of SCENARIO_NODES) {
      const r = nodeOf(m, n).runtime;
      expect(readFileSync(join(out, r.routes ?? ""), "utf8")).toBe(
        await onNode(n, ["ovs-appctl", "ovs/route/show"]),
      );
      expect(readFileSync(join(out, r.tunnelNeighbors ?? ""), "utf8")).toContain("172.18.0.");
      expect(readFileSync(join(out, r.dpifShow ?? ""), "utf8")).toContain("br-int");
      expect(nodeOf(m, n).ovsVersion).toMatch(/^\d+\.\d+/);
    }
    for (const [path, f] of Object.entries(m.files)) {
      const data = readFileSync(join(out, path));
      expect(createHash("sha256").update(data).digest("hex")).toBe(f.sha256);
    }
    expect(JSON.parse(readFileSync(join(out, "manifest.json"), "utf8"))).toEqual(m);
  });
});

describe("collectFromSos: zones", () => {
  it("reads every report of a directory that holds several", async () => {
    const m = await collectFromSos([join(work, "trees")], newOut());
    expect(m.nodes.map((n) => n.name).sort()).toEqual([...SCENARIO_NODES].sort());
    expect(m.shape).toBe("interconnect");
    for (const n of m.nodes) expect([n.zone, n.status]).toEqual([zoneOf(n.name), "complete"]);
  });

  it("gives an interconnect node whose report lacks its zone's DBs a zone of its own, with them missing", async () => {
    const [cp, w1] = SCENARIO_NODES as [string, string];
    const top = copyTree(w1);
    rmSync(join(top, "var/lib/ovn"), { recursive: true });
    const m = await collectFromSos([tree(cp), top], newOut());
    expect(m.shape).toBe("interconnect");
    expect(nodeOf(m, cp).status).toBe("complete");
    const n = nodeOf(m, w1);
    expect([n.zone, n.status, n.missing]).toEqual([w1, "partial", ["ovnnb_db.db", "ovnsb_db.db"]]);
    expect(m.zones.find((z) => z.name === w1)?.missing).toEqual(["ovnnb_db.db", "ovnsb_db.db"]);
  });

  it("puts every node in zone global when one report holds an unnamed NB whose SB has every chassis", async () => {
    // a central cluster's databases, made from the control plane's: NB_Global.name empty, no remote chassis,
    // no transit switch
    const [cp, ...workers] = SCENARIO_NODES as [string, ...string[]];
    const top = copyTree(cp);
    const etc = join(top, "var/lib/ovn/etc");
    await must([
      "ovsdb-tool",
      "transact",
      join(etc, "ovnnb_db.db"),
      JSON.stringify([
        "OVN_Northbound",
        { op: "update", table: "NB_Global", where: [], row: { name: "" } },
        { op: "delete", table: "Logical_Switch", where: [["name", "==", "transit_switch"]] },
      ]),
    ]);
    await must([
      "ovsdb-tool",
      "transact",
      join(etc, "ovnsb_db.db"),
      JSON.stringify([
        "OVN_Southbound",
        { op: "update", table: "Chassis", where: [], row: { other_config: ["map", []] } },
      ]),
    ]);
    const bare = workers.map((w) => {
      const t = copyTree(w);
      rmSync(join(t, "var/lib/ovn"), { recursive: true });
      return t;
    });
    const m = await collectFromSos([top, ...bare], newOut());
    expect(m.shape).toBe("central");
    expect(m.zones.map((z) => [z.name, z.missing])).toEqual([["global", []]]);
    for (const n of m.nodes) expect([n.name, n.zone, n.status]).toEqual([n.name, "global", "complete"]);
    expect(m.problems).toEqual([]);
  });
});

describe("collectFromSos on bad input", () => {
  it("does not follow a symlink out of the report", async () => {
    const top = copyTree(SCENARIO_NODES[1] ?? "");
    const routes = join(top, "sos_commands/openvswitch/ovs-appctl_ovs.route.show");
    unlinkSync(routes);
    symlinkSync("/etc/hostname", routes);
    const m = await collectFromSos([top], newOut());
    expect(nodeOf(m, SCENARIO_NODES[1] ?? "").runtime.routes).toBeUndefined();
    expect(m.problems.join("\n")).toMatch(/ovs-appctl_ovs\.route\.show points out of the report/);
  });

  const worker = (): string => SCENARIO_NODES[1] ?? "";

  it("skips a truncated DB file, names it, and keeps the rest of the node", async () => {
    const top = copyTree(worker());
    const nb = join(top, "var/lib/ovn/etc/ovnnb_db.db");
    truncateSync(nb, Math.floor(readFileSync(nb).length / 2));
    const conf = join(top, "var/lib/openvswitch/conf.db");
    truncateSync(conf, Math.floor(readFileSync(conf).length / 2));
    const out = newOut();
    const m = await collectFromSos([top], out);
    const n = nodeOf(m, worker()); // named from the sos hostname file, conf.db being unreadable
    expect(n.status).toBe("partial");
    expect(n.missing).toEqual(expect.arrayContaining(["ovnnb_db.db", "conf.db"]));
    expect(n.confDb).toBeUndefined();
    expect(n.bridges.find((b) => b.name === "br-int")?.flows).toBeDefined();
    expect(m.problems.join("\n")).toMatch(/var\/lib\/ovn\/etc\/ovnnb_db\.db is damaged.*truncated/);
    expect(m.problems.join("\n")).toMatch(/var\/lib\/openvswitch\/conf\.db is damaged/);
    // the SB still serves, in the zone named after the node (an interconnect SB)
    expect(m.zones).toEqual([
      { name: zoneOf(worker()), sb: `zones/${zoneOf(worker())}/ovnsb_db.db`, missing: ["ovnnb_db.db"] },
    ]);
  });

  it("names a bridge whose flow dumps are missing", async () => {
    const top = copyTree(worker());
    const ovs = join(top, "sos_commands/openvswitch");
    for (const f of readdirSync(ovs)) if (/dump-flows_breth0$/.test(f)) unlinkSync(join(ovs, f));
    const m = await collectFromSos([top], newOut());
    const n = nodeOf(m, worker());
    expect(n.status).toBe("partial");
    expect(n.missing).toEqual(["breth0 flows"]);
    expect(n.bridges.find((b) => b.name === "breth0")?.flows).toBeUndefined();
    expect(n.bridges.find((b) => b.name === "br-int")?.flows).toBeDefined();
  });

  it("reads a report of an old sos without dump-groups and dump-tlv-map", async () => {
    const top = copyTree(worker());
    const ovs = join(top, "sos_commands/openvswitch");
    for (const f of readdirSync(ovs)) if (/dump-(groups|tlv-map)_/.test(f)) unlinkSync(join(ovs, f));
    const out = newOut();
    const m = await collectFromSos([top], out);
    const n = nodeOf(m, worker());
    expect(n.status).toBe("partial");
    expect(n.missing).toEqual(expect.arrayContaining(["br-int groups"]));
    // the integration bridge's tlv-map is read from its flows, exactly as the node had it
    expect(n.missing).not.toContain("br-int tlv-map");
    const br = n.bridges.find((b) => b.name === "br-int");
    expect(br?.flows).toBeDefined();
    expect(readFileSync(join(out, br?.tlvMap ?? "-"), "utf8")).toBe(
      await onNode(worker(), ["ovs-ofctl", "dump-tlv-map", "br-int"]),
    );
    expect(m.problems.join("\n")).toMatch(/br-int tlv-map derived from the flows' use of tun_metadata0/);
    // breth0 does not get one: it is not OVN's bridge
    expect(n.missing).toContain("breth0 tlv-map");
  });

  it("takes a clustered NB, converted to a standalone file with the same rows", async () => {
    const top = copyTree(worker());
    const nb = join(top, "var/lib/ovn/etc/ovnnb_db.db");
    const clustered = join(work, "clustered-nb.db");
    rmSync(clustered, { force: true });
    await must(["ovsdb-tool", "create-cluster", clustered, nb, "unix:/tmp/sos-test-raft.sock"]);
    copyFileSync(clustered, nb);
    expect(readFileSync(nb, "latin1").startsWith("OVSDB CLUSTER ")).toBe(true);
    const out = newOut();
    const m = await collectFromSos([top], out);
    const z = m.zones.find((x) => x.name === zoneOf(worker()));
    expect(z?.nb).toBeDefined();
    expect(readFileSync(join(out, z?.nb ?? ""), "latin1").startsWith("OVSDB JSON ")).toBe(true);
    expect(snapshotRowCounts(out, z?.nb ?? "")).toEqual(
      await liveRowCounts(labLayout(state.dir).dbs(z?.name ?? "").nb, "OVN_Northbound"),
    );
    expect(m.problems.join("\n")).toMatch(/clustered: converted with ovsdb-tool cluster-to-standalone/);
    expect(nodeOf(m, worker()).status).toBe("complete");
  });

  it("refuses an archive with no OVS data, and leaves no snapshot behind", async () => {
    const dir = mkdtempSync(join(work, "logs-only-"));
    mkdirSync(join(dir, "sosreport-empty-2026/sos_logs"), { recursive: true });
    writeFileSync(join(dir, "sosreport-empty-2026/sos_logs/sos.log"), "nothing\n");
    const file = join(work, "sosreport-empty-2026.tar.xz");
    await must(["tar", "-C", dir, "-cJf", file, "sosreport-empty-2026"]);
    const out = newOut();
    const e = await rejection(collectFromSos([file], out));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(
      /no Open vSwitch or OVN data in .*sosreport-empty-2026\.tar\.xz/,
    );
    expect((e as InputError).message).toContain("ovs-ofctl_-O_OpenFlow15_dump-flows_<bridge>");
    expect((e as InputError).message).toContain("conf.db under var/lib/openvswitch");
    expect(existsSync(out)).toBe(false);
  });

  it("refuses random bytes named .tar.xz with a message, not a stack trace", async () => {
    const file = join(work, "sosreport-garbage.tar.xz");
    writeFileSync(file, createHash("sha512").update("not an archive").digest());
    const out = newOut();
    const e = await rejection(collectFromSos([file], out));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/sosreport-garbage\.tar\.xz is not a readable archive: .*xz/);
    expect((e as InputError).hint).toBeDefined();
    expect(existsSync(out)).toBe(false);
  });

  it("serves the good reports when another input is garbage", async () => {
    const file = join(work, "sosreport-junk.tgz");
    writeFileSync(file, "junk\n");
    const m = await collectFromSos([file, tree(worker())], newOut());
    expect(m.nodes.map((n) => [n.name, n.status])).toEqual([
      ["sosreport-junk", "failed"],
      [worker(), "complete"],
    ]);
    expect(m.nodes[0]?.error).toMatch(/sosreport-junk\.tgz is not a readable archive/);
  });
});

describe("collectFromFiles", () => {
  const node = (): string => SCENARIO_NODES[2] ?? "";
  const file = (rel: string): string => join(tree(node()), rel);
  const ovs = (name: string): string => file(`sos_commands/openvswitch/${name}`);

  it("builds a one-node snapshot from DB files and dumps given by hand", async () => {
    const dir = mkdtempSync(join(work, "files-"));
    const flows = join(dir, "flows.txt");
    copyFileSync(ovs("ovs-ofctl_-O_OpenFlow15_dump-flows_br-int"), flows);
    const groups = join(dir, "br-int.groups");
    copyFileSync(ovs("ovs-ofctl_-O_OpenFlow15_dump-groups_br-int"), groups);
    const out = newOut();
    const t0 = performance.now();
    const m = await collectFromFiles(
      [
        file("var/lib/openvswitch/conf.db"),
        file("var/lib/ovn/etc/ovnnb_db.db"),
        file("var/lib/ovn/etc/ovnsb_db.db"),
        `br-int=${flows}`,
        groups,
        `br-int=${ovs("ovs-ofctl_-O_OpenFlow15_dump-tlv-map_br-int")}`,
        ovs("ovs-ofctl_-O_OpenFlow15_dump-flows_breth0"),
      ],
      out,
    );
    timings["files (3 DBs, 4 dumps)"] = Math.round(performance.now() - t0);
    expect(m.source.kind).toBe("files");
    // one zone, read from the data: its NB_Global name, its transit switch, its remote chassis
    expect(m.shape).toBe("interconnect");
    expect(m.zones.map((z) => z.name)).toEqual([zoneOf(node())]);
    const n = nodeOf(m, node()); // from the conf.db hostname
    expect(n.zone).toBe(zoneOf(node()));
    // breth0 forwards with NORMAL (no MAC table given); tunnels need the node's routes and neighbours
    expect([...n.missing].sort()).toEqual([
      "breth0 fdb",
      "breth0 groups",
      "breth0 tlv-map",
      "ovs/route/show",
      "tnl/neigh/show",
    ]);
    for (const b of n.bridges)
      expect(await parsedFlows(join(out, b.flows ?? ""))).toEqual(await liveFlows(node(), b.name));
    const br = n.bridges.find((b) => b.name === "br-int");
    expect(
      readFileSync(join(out, br?.groups ?? ""), "utf8")
        .split("\n")
        .filter(Boolean)
        .sort(),
    ).toEqual(await liveGroups(node(), "br-int"));
    expect(br?.tlvMap).toBeDefined();
    expect(snapshotRowCounts(out, n.confDb ?? "")).toEqual(
      await liveRowCounts(confDbSocket(node()), "Open_vSwitch"),
    );
  });

  it("takes the node name given, and names a damaged DB file", async () => {
    const dir = mkdtempSync(join(work, "files-"));
    const conf = join(dir, "conf.db");
    copyFileSync(file("var/lib/openvswitch/conf.db"), conf);
    truncateSync(conf, 300);
    const m = await collectFromFiles(
      [
        conf,
        ovs("ovs-ofctl_-O_OpenFlow15_dump-flows_br-int"),
        `br-int=${ovs("ovs-ofctl_-O_OpenFlow15_dump-groups_br-int")}`,
      ],
      newOut(),
      { node: "my-node" },
    );
    const n = nodeOf(m, "my-node");
    expect(n.status).toBe("partial");
    expect(n.missing).toEqual(expect.arrayContaining(["conf.db", "ovs/route/show", "tnl/neigh/show"]));
    expect(n.missing).not.toContain("br-int tlv-map");
    expect(m.problems.join("\n")).toMatch(/conf\.db is damaged/);
    expect(m.zones).toEqual([{ name: "global", missing: ["ovnnb_db.db", "ovnsb_db.db"] }]);
  });

  it("refuses files with nothing usable, and two conf.db", async () => {
    const dir = mkdtempSync(join(work, "files-"));
    const junk = join(dir, "notes.txt");
    writeFileSync(junk, "hello\n");
    const out = newOut();
    const e = await rejection(collectFromFiles([junk], out));
    expect(e).toBeInstanceOf(InputError);
    expect((e as InputError).message).toMatch(/nothing usable .*\n.*notes\.txt: not recognised/);
    expect(existsSync(out)).toBe(false);
    const twice = await rejection(
      collectFromFiles(
        [
          file("var/lib/openvswitch/conf.db"),
          join(tree(SCENARIO_NODES[0] ?? ""), "var/lib/openvswitch/conf.db"),
        ],
        out,
      ),
    );
    expect((twice as InputError).message).toMatch(/two Open_vSwitch databases given/);
    expect(existsSync(out)).toBe(false);
  });
});

describe("restorable flows", () => {
  // real ovs-ofctl -O OpenFlow15 prints of two flows (timeouts, flags, importance, a meter, an empty match),
  // with statistics and with --no-stats
  const withStats = [
    "OFPST_FLOW reply (OF1.5) (xid=0x2):",
    " cookie=0x5, duration=1.264s, table=3, n_packets=0, n_bytes=0, idle_timeout=600, hard_timeout=1200, send_flow_rem reset_counts importance=5, idle_age=1, priority=10,ip,nw_dst=10.0.0.1 actions=meter:2,output:1",
    " cookie=0x0, duration=1.220s, table=4, n_packets=0, n_bytes=0, idle_age=1, hard_age=0, actions=NORMAL",
  ].join("\n");
  const noStats = [
    " cookie=0x5, table=3, idle_timeout=600, hard_timeout=1200, send_flow_rem reset_counts importance=5, priority=10,ip,nw_dst=10.0.0.1 actions=meter:2,output:1",
    " table=4, actions=NORMAL",
  ].join("\n");

  it("drops headers and statistics and keeps what OVS needs to install the same flows", async () => {
    const r = restorableFlows(withStats);
    expect([r.count, r.rejected, r.sawHeader]).toEqual([2, [], true]);
    const dir = mkdtempSync(join(tmpdir(), "sos-flows-"));
    try {
      writeFileSync(join(dir, "ours"), r.text);
      writeFileSync(join(dir, "theirs"), noStats);
      expect(await parsedFlows(join(dir, "ours"))).toEqual(await parsedFlows(join(dir, "theirs")));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    expect(flowsUseMeters(r.text)).toBe(true);
    expect(flowsUseMeters(" table=4, actions=NORMAL\n")).toBe(false);
  });

  it("refuses a dump that is only an error message", () => {
    const r = restorableFlows("ovs-ofctl: br-int is not a bridge or a socket\n");
    expect(isUsableDump(r)).toBe(false);
    expect(isUsableDump(restorableFlows("NXST_FLOW reply (xid=0x4):\n"))).toBe(true);
  });
});
