import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, nodeEnv, runOnNode, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { run } from "../../src/ovs/exec.js";
import { runTraces } from "../../src/engine/trace.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { collectFromFiles } from "../../src/snapshot/files.js";
import type { SnapshotManifest, SnapshotNode } from "../../src/snapshot/format.js";
import { stopReplica } from "../../src/snapshot/replica.js";
import { cliAsync as cli } from "../helpers/cli.js";
import { examplePods, newLabDir } from "../helpers/lab.js";

/**
 * A snapshot with a piece missing says so, node by node (SnapshotBackend.incompleteData): the tlv-map
 * of a --files snapshot, one node's flows, one node altogether. And the README's --files example
 * collects, loads its flows in the replica and reads the cluster's shape from the data.
 */
const SCENARIO = `${EXAMPLES_DIR}kind.yaml`;
const README = new URL("../../README.md", import.meta.url);

let state: LabState;
let work: string;
/** The lab snapshot (collect --lab), complete. */
let labSnap: string;
/** The files the README's --files example names, from the client's node, by name. */
let filesDir: string;
/** What the live node showed, to compare the replica with. */
const live = { tlvMap: "", flows: 0, sameNodeActions: "", crossNodeActions: "" };
const snapshots: string[] = [];
const backends: SnapshotBackend[] = [];

const pods = examplePods(SCENARIO);
const podNode = (name: string): string => pods.find((p) => p.name === name)?.node ?? "";
/** The client's node (the README example's node), and a pod beside it and one on another node. */
const node = podNode("client");
const beside = pods.find((p) => p.node === node && p.name !== "client" && p.ips.length > 0);
const across = pods.find((p) => p.node !== node && p.ips.length > 0);

async function must(argv: readonly string[], env?: NodeJS.ProcessEnv): Promise<string> {
  const r = await run(argv, env === undefined ? {} : { env });
  if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${String(r.exitCode)}: ${r.stderr}`);
  return r.stdout;
}

async function onNode(argv: readonly string[]): Promise<string> {
  const r = await runOnNode(state, node, argv);
  if (r.exitCode !== 0)
    throw new Error(`${node}: ${argv.join(" ")}: exit ${String(r.exitCode)}: ${r.stderr}`);
  return r.stdout;
}

async function ofport(b: ClusterBackend, ifaceId: string): Promise<string> {
  const r = await b.execOnNode(node, [
    "ovs-vsctl",
    "--bare",
    "--columns=name",
    "find",
    "interface",
    `external_ids:iface-id=${ifaceId}`,
  ]);
  return r.stdout.trim();
}

/** ovn-kubernetes' MAC of a pod or router port IPv4 address: 0a:58 and the address's bytes. */
const macOf = (ip: string): string =>
  ["0a", "58", ...ip.split(".").map((o) => Number(o).toString(16).padStart(2, "0"))].join(":");

/** The last datapath actions of an ofproto/trace from the client to a pod, odp ports by name. */
async function actionsTo(b: ClusterBackend, dst: (typeof pods)[number] | undefined): Promise<string> {
  const src = pods.find((p) => p.name === "client");
  const [srcIp, dstIp] = [src?.ips[0] ?? "", dst?.ips[0] ?? ""];
  // beside: straight to the pod's MAC; across: to the node switch's router port (.1 of the subnet)
  const dstMac = dst?.node === node ? macOf(dstIp) : macOf(srcIp.replace(/\.\d+$/, ".1"));
  const flow = `in_port=${await ofport(b, "default_client")},udp,dl_src=${macOf(srcIp)},dl_dst=${dstMac},nw_src=${srcIp},nw_dst=${dstIp},udp_src=41234,udp_dst=5353,nw_ttl=64`;
  const [trace, dpif] = await Promise.all([
    b.execOnNode(node, ["ovs-appctl", "ofproto/trace", "br-int", flow]),
    b.execOnNode(node, ["ovs-appctl", "dpif/show"]),
  ]);
  expect(trace.exitCode, trace.stderr).toBe(0);
  const names = new Map<string, string>();
  for (const line of dpif.stdout.split("\n")) {
    const m = /^\s+(\S+) \d+\/(\d+):/.exec(line);
    if (m?.[1] !== undefined && m[2] !== undefined) names.set(m[2], m[1]);
  }
  const actions = [...trace.stdout.matchAll(/^Datapath actions: (.*)$/gm)].at(-1)?.[1] ?? "(none)";
  return actions
    .replace(/recirc\(0x[0-9a-f]+\)/g, "recirc(X)")
    .replace(/out_port\((\d+)\)/g, (_, p: string) => `out_port(${names.get(p) ?? p})`)
    .replace(/(^|,)(\d+)(?=,|$)/g, (_, sep: string, p: string) => `${sep}${names.get(p) ?? p}`);
}

async function open(dir: string): Promise<SnapshotBackend> {
  snapshots.push(dir);
  const b = await SnapshotBackend.open(dir);
  backends.push(b);
  return b;
}

/** A copy of a snapshot with its manifest changed by `edit` (files it drops are removed from the copy). */
function edited(from: string, edit: (m: SnapshotManifest, dir: string) => SnapshotManifest): string {
  const dir = join(mkdtempSync(join(work, "edit-")), "snap");
  cpSync(from, dir, { recursive: true });
  const m = JSON.parse(readFileSync(join(dir, "manifest.json"), "utf8")) as SnapshotManifest;
  writeFileSync(join(dir, "manifest.json"), JSON.stringify(edit(m, dir), null, 2));
  return dir;
}

/** The manifest without a file: gone from `files` and from the disk. */
function withoutFile(m: SnapshotManifest, dir: string, file: string | undefined): SnapshotManifest {
  if (file === undefined) throw new Error("no such file in the manifest");
  rmSync(join(dir, file));
  return { ...m, files: Object.fromEntries(Object.entries(m.files).filter(([f]) => f !== file)) };
}

function editNode(m: SnapshotManifest, name: string, f: (n: SnapshotNode) => SnapshotNode): SnapshotManifest {
  expect(m.nodes.some((n) => n.name === name)).toBe(true);
  return { ...m, nodes: m.nodes.map((n) => (n.name === name ? f(n) : n)) };
}

/** The README's `snapshot collect --files ...` line: its file arguments and the rest. */
function readmeFilesExample(): { files: string[]; rest: string[] } {
  const section = readFileSync(README, "utf8").split("## Offline snapshots")[1] ?? "";
  const line = /^ovnkube-trace snapshot collect --files (.*?)\s+--node \S+ --out \S+/m.exec(section);
  expect(line, "the README's Offline snapshots section shows a --files example").not.toBeNull();
  return { files: (line?.[1] ?? "").split(/\s+/), rest: ["--node", node] };
}

/** A README file argument (`FILE` or `BRIDGE=FILE`) with its file in filesDir, which must exist. */
function inFilesDir(arg: string): string {
  const m = /^([^=]+=)?(.+)$/.exec(arg);
  const path = join(filesDir, m?.[2] ?? arg);
  expect(existsSync(path), `the README's ${arg} is one of the files this test writes`).toBe(true);
  return `${m?.[1] ?? ""}${path}`;
}

beforeAll(async () => {
  state = (await labUp(loadScenarioFile(SCENARIO), newLabDir())).state;
  work = newLabDir();
  filesDir = join(work, "files");
  const zone = state.cluster.nodes.find((n) => n.name === node)?.zone ?? "";
  const dbs = labLayout(state.dir).dbs(zone);
  const conf = `unix:${nodeEnv(state, node).OVS_RUNDIR ?? ""}/db.sock`;
  // what a user saves by hand on the node, named as in the README
  const put = (name: string, text: string): void => {
    writeFileSync(join(filesDir, name), text);
  };
  mkdirSync(filesDir);
  put("conf.db", await must(["ovsdb-client", "backup", conf, "Open_vSwitch"]));
  put("ovnnb_db.db", await must(["ovsdb-client", "backup", dbs.nb, "OVN_Northbound"]));
  put("ovnsb_db.db", await must(["ovsdb-client", "backup", dbs.sb, "OVN_Southbound"]));
  put("flows.txt", await onNode(["ovs-ofctl", "dump-flows", "br-int"]));
  put("groups.txt", await onNode(["ovs-ofctl", "-O", "OpenFlow15", "dump-groups", "br-int"]));
  live.tlvMap = await onNode(["ovs-ofctl", "dump-tlv-map", "br-int"]);
  live.flows = (await onNode(["ovs-ofctl", "-O", "OpenFlow15", "--no-stats", "dump-flows", "br-int"]))
    .split("\n")
    .filter((l) => l.includes("actions=")).length;
  const lab = LabBackend.open(state.dir);
  live.sameNodeActions = await actionsTo(lab, beside);
  live.crossNodeActions = await actionsTo(lab, across);
  labSnap = join(work, "lab-snap");
  await collectFromBackend(lab, { out: labSnap, source: { kind: "lab", description: lab.description } });
  // every snapshot below is replayed alone
  await labDown(state.dir);
});

afterAll(async () => {
  for (const b of backends) await b.close();
  // the replicas live outside the test labs' root: the global teardown would not stop them
  for (const s of snapshots) await stopReplica(s);
  if (existsSync(state.dir)) await labDown(state.dir);
});

describe("the README's --files example", () => {
  let out: string;
  let m: SnapshotManifest;

  beforeAll(async () => {
    const { files, rest } = readmeFilesExample();
    out = join(work, "readme-snap");
    const r = await cli([
      "snapshot",
      "collect",
      "--files",
      ...files.map(inFilesDir),
      ...rest,
      "--out",
      out,
      "-o",
      "json",
    ]);
    expect(r.stderr).toBe("");
    expect(r.code).toBe(0);
    m = JSON.parse(r.stdout) as SnapshotManifest;
  });

  it("reads the shape from the data: the zone named in NB_Global, its transit switch and remote chassis", () => {
    const zone = state.cluster.nodes.find((n) => n.name === node)?.zone;
    expect(zone).not.toBe("global");
    expect(m.shape).toBe("interconnect");
    expect(m.zones.map((z) => [z.name, z.missing])).toEqual([[zone, []]]);
    expect(m.nodes.map((n) => [n.name, n.zone])).toEqual([[node, zone]]);
  });

  it("derives br-int's tlv-map from the flows, byte for byte what the node printed", () => {
    const br = m.nodes[0]?.bridges.find((b) => b.name === "br-int");
    expect([br?.flows, br?.groups].every((f) => f !== undefined)).toBe(true);
    expect(readFileSync(join(out, br?.tlvMap ?? "-"), "utf8")).toBe(live.tlvMap);
    expect(m.nodes[0]?.missing).not.toContain("br-int tlv-map");
    expect(m.problems).toContainEqual(
      expect.stringMatching(/^\S*flows\.txt: br-int tlv-map derived from the flows' use of tun_metadata0/),
    );
  });

  it("replays with every flow loaded: the same datapath actions as live, to a pod beside and across a tunnel", async () => {
    const b = await open(out);
    expect(b.replica.nodes.map((n) => [n.name, n.ovs, n.failed])).toEqual([[node, true, []]]);
    const dump = await b.execOnNode(node, [
      "ovs-ofctl",
      "-O",
      "OpenFlow15",
      "--no-stats",
      "dump-flows",
      "br-int",
    ]);
    expect(dump.stdout.split("\n").filter((l) => l.includes("actions=")).length).toBe(live.flows);
    expect(live.flows).toBeGreaterThan(100);
    expect(await actionsTo(b, beside)).toBe(live.sameNodeActions);
    expect(live.sameNodeActions).toMatch(/(^|,)[0-9a-f]{15}$/); // delivered to the pod's port
    // across nodes, the tunnel has no route in this snapshot: named below, and the actions differ
    expect(live.crossNodeActions).toContain("tnl_push(");
    expect(await actionsTo(b, across)).not.toContain("tnl_push(");
  });

  it("names what it lacks: breth0's flows and the tunnel routing state; a node it does not hold", async () => {
    const b = await open(out);
    const ports = `node ${node}: it has tunnel ports (on br-int) and the snapshot has no`;
    const routes = `${ports} tunnel routes (not collected), so the replica cannot route a packet into a tunnel: collect \`ovs-appctl ovs/route/show\` on that node`;
    const neighbours = `${ports} tunnel neighbours (not collected), so the replica does not know the next hop's MAC: collect \`ovs-appctl tnl/neigh/show\` on that node`;
    const breth0 = `node ${node}: the snapshot has no breth0 flows (not collected): collect \`ovs-ofctl -O OpenFlow15 --no-stats dump-flows breth0\` on that node`;
    expect(await b.incompleteData(node)).toEqual([breth0, routes, neighbours]);
    // a trace that stayed on br-int needs neither breth0 nor the tunnels: it is answered
    expect(await b.incompleteData(node, { bridges: ["br-int"], tunnel: false })).toEqual([]);
    expect(await b.incompleteData(node, { bridges: ["br-int"], tunnel: true })).toEqual([routes, neighbours]);
    expect(await b.incompleteData(node, { bridges: ["br-int", "breth0"], tunnel: false })).toEqual([breth0]);
    const other = across?.node ?? "";
    expect(await b.incompleteData(other)).toEqual([
      `node ${other} is not in the snapshot (a --files snapshot holds one node: ${node}): for traces that reach ${other}, collect with --cluster, or with --sos and a sos report of every node`,
    ]);
  });

  it("refuses, in one line, what the replica could not load: flows without their groups, tun_metadata it cannot map", async () => {
    const f = (name: string): string => join(filesDir, name);
    const base = [f("conf.db"), f("ovnnb_db.db"), f("ovnsb_db.db")];
    const noGroups = join(work, "no-groups");
    const r = await cli([
      "snapshot",
      "collect",
      "--files",
      ...base,
      `br-int=${f("flows.txt")}`,
      "--out",
      noGroups,
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr.split("\n")[0]).toMatch(
      /^error: br-int flows \(\S+flows\.txt\) send packets to groups 1, 2, 3, 4 and no br-int groups dump was given: add br-int=FILE with the output of `ovs-ofctl -O OpenFlow15 dump-groups br-int` on that node$/,
    );
    expect(existsSync(noGroups)).toBe(false);
    // a second tunnel metadata field: OVN maps one, so the map cannot be read from the flows
    writeFileSync(
      f("flows-tun1.txt"),
      `${readFileSync(f("flows.txt"), "utf8")} cookie=0x0, table=0, priority=1,tun_metadata1=0x1 actions=drop\n`,
    );
    const tun1 = join(work, "tun1");
    const t = await cli([
      "snapshot",
      "collect",
      "--files",
      ...base,
      `br-int=${f("flows-tun1.txt")}`,
      `br-int=${f("groups.txt")}`,
      "--out",
      tun1,
    ]);
    expect(t.code).toBe(2);
    expect(t.stderr.split("\n")[0]).toMatch(
      /^error: br-int flows \(\S+flows-tun1\.txt\) use tun_metadata0, tun_metadata1 and no br-int tlv-map was given \(it cannot be read from the flows: they use tun_metadata0, tun_metadata1 \(OVN maps one\)\): add br-int=FILE with the output of `ovs-ofctl dump-tlv-map br-int` on that node$/,
    );
    expect(existsSync(tun1)).toBe(false);
  });
});

describe("a snapshot with a piece missing names it (incompleteData)", () => {
  it("complete: the lab snapshot lacks nothing on any node", async () => {
    const b = await open(labSnap);
    expect(b.snap.manifest.nodes.length).toBe(state.cluster.nodes.length);
    for (const n of state.cluster.nodes) expect(await b.incompleteData(n.name), n.name).toEqual([]);
    expect(b.replica.nodes.map((n) => n.failed)).toEqual(state.cluster.nodes.map(() => []));
  });

  it("(a) no tlv-map: the missing file, and the flows that did not load into the replica because of it", async () => {
    // the files of the README's example, collected as a collector that does not derive the tlv-map would
    const f = (name: string): string => join(filesDir, name);
    const collected = join(work, "no-tlv-map");
    await collectFromFiles(
      [
        f("conf.db"),
        f("ovnnb_db.db"),
        f("ovnsb_db.db"),
        `br-int=${f("flows.txt")}`,
        `br-int=${f("groups.txt")}`,
      ],
      collected,
      { node },
    );
    const dir = edited(collected, (m, d) => {
      const tlv = m.nodes[0]?.bridges.find((b) => b.name === "br-int")?.tlvMap;
      return editNode(withoutFile(m, d, tlv), node, (n) => ({
        ...n,
        bridges: n.bridges.map((b) => (b.name === "br-int" ? { ...b, tlvMap: undefined } : b)),
        missing: [...n.missing, "br-int tlv-map"],
      }));
    });
    const b = await open(dir);
    const rn = b.replica.nodes.find((n) => n.name === node);
    expect(rn?.failed?.map((f) => [f.part, f.bridge, f.codes.includes("NXFMFC_INVALID_TLV_FIELD")])).toEqual([
      ["flows", "br-int", true],
    ]);
    const dump = await b.execOnNode(node, [
      "ovs-ofctl",
      "-O",
      "OpenFlow15",
      "--no-stats",
      "dump-flows",
      "br-int",
    ]);
    expect(dump.stdout.split("\n").filter((l) => l.includes("actions=")).length).toBe(0);
    const gaps = await b.incompleteData(node, { bridges: ["br-int"], tunnel: false });
    expect(gaps).toEqual([
      `node ${node}: its br-int flows use tun_metadata0 and the snapshot has no br-int tlv-map (not collected): collect \`ovs-ofctl dump-tlv-map br-int\` on that node`,
      `node ${node}: none of its br-int flows loaded into the replica (replace-flows failed: NXFMFC_INVALID_TLV_FIELD: a flow uses a tunnel metadata field that no tlv-map maps): collect \`ovs-ofctl dump-tlv-map br-int\` on that node`,
    ]);
  });

  it("(b) one node's flows removed: that node names its br-int flows, the others lack nothing", async () => {
    const [a, c] = state.cluster.nodes.map((n) => n.name);
    const dir = edited(labSnap, (m, d) => {
      const flows = m.nodes.find((n) => n.name === a)?.bridges.find((x) => x.name === "br-int")?.flows;
      const changed = editNode(withoutFile(m, d, flows), a ?? "", (n) => ({
        ...n,
        status: "partial",
        bridges: n.bridges.map((x) => (x.name === "br-int" ? { ...x, flows: undefined } : x)),
        missing: ["br-int flows"],
      }));
      // and another node's breth0 flows changed after the collect (a comment: they still load)
      const other = changed.nodes.find((n) => n.name === c)?.bridges.find((x) => x.name === "breth0")?.flows;
      writeFileSync(join(d, other ?? "-"), `${readFileSync(join(d, other ?? "-"), "utf8")}# edited\n`);
      return changed;
    });
    const b = await open(dir);
    expect(await b.incompleteData(a ?? "")).toEqual([
      `node ${a ?? ""}: the snapshot has no br-int flows (not collected): collect \`ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int\` on that node`,
    ]);
    const breth0 = `node ${c ?? ""}: the snapshot has no breth0 flows (nodes/${c ?? ""}/breth0.flows is damaged: its checksum differs from the manifest): collect \`ovs-ofctl -O OpenFlow15 --no-stats dump-flows breth0\` on that node`;
    expect(await b.incompleteData(c ?? "")).toEqual([breth0]);
    // only a trace that crossed the bridge concerned is
    expect(await b.incompleteData(a ?? "", { bridges: ["breth0"], tunnel: true })).toEqual([]);
    expect(await b.incompleteData(c ?? "", { bridges: ["br-int"], tunnel: true })).toEqual([]);
    expect(await b.incompleteData(c ?? "", { bridges: ["br-int", "breth0"], tunnel: false })).toEqual([
      breth0,
    ]);
    for (const n of state.cluster.nodes.slice(2)) expect(await b.incompleteData(n.name), n.name).toEqual([]);
  });

  it("(c) one node absent, one that failed to collect: each named with what to do", async () => {
    const [a, c, d] = state.cluster.nodes.map((n) => n.name) as [string, string, string];
    const dir = edited(labSnap, (m, dd) => {
      let out: SnapshotManifest = { ...m, nodes: m.nodes.filter((n) => n.name !== a) };
      const gone = Object.keys(m.files).filter((f) => f.startsWith(`nodes/${a}/`));
      expect(gone.length).toBeGreaterThan(3);
      for (const f of gone) out = withoutFile(out, dd, f);
      return editNode(out, c, (n) => ({ ...n, status: "failed", error: "container not found" }));
    });
    const b = await open(dir);
    const m = b.snap.manifest;
    expect(await b.incompleteData(a)).toEqual([
      `node ${a} is not in the snapshot (taken from ${m.source.description} at ${m.createdAt}, it holds ${c}, ${d}): take a new snapshot that includes it`,
    ]);
    expect(await b.incompleteData(c)).toEqual([
      `node ${c} could not be collected (container not found): take the snapshot again when ${c} answers`,
    ]);
    expect(await b.incompleteData(d)).toEqual([]);
    expect(await b.incompleteData("no-such-node")).toEqual([
      expect.stringMatching(/^node no-such-node is not in the snapshot/),
    ]);
  });
});

describe("a trace on an incomplete snapshot is unknown, with the reason, never a drop", () => {
  /** The snapshot of the lab without the client's node's br-int flows. */
  function withoutClientFlows(): string {
    return edited(labSnap, (m, d) => {
      const flows = m.nodes.find((n) => n.name === node)?.bridges.find((x) => x.name === "br-int")?.flows;
      return editNode(withoutFile(m, d, flows), node, (n) => ({
        ...n,
        status: "partial",
        bridges: n.bridges.map((x) => (x.name === "br-int" ? { ...x, flows: undefined } : x)),
        missing: ["br-int flows"],
      }));
    });
  }

  it("the engine: the client's node lacks its br-int flows, so both directions are unknown and say so", async () => {
    const b = await open(withoutClientFlows());
    const target = {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod" as const, namespace: beside?.namespace ?? "", name: beside?.name ?? "" },
      protocol: "udp" as const,
      dstPort: 5353,
    };
    const [report] = await runTraces(b, await resolveTarget(b, target), { skipDetrace: true });
    for (const v of [report?.forward.verdict, report?.reply?.verdict]) {
      expect(v?.kind).toBe("unknown");
      if (v?.kind !== "unknown") continue;
      expect(v.reason).toContain(`node ${node}: the snapshot has no br-int flows`);
      expect(v.reason).toContain("collect `ovs-ofctl -O OpenFlow15 --no-stats dump-flows br-int`");
    }
  });

  it("the CLI: exit 8, the reason on stderr", async () => {
    const dir = withoutClientFlows();
    snapshots.push(dir);
    const r = await cli([
      "--snapshot",
      dir,
      "-src",
      "client",
      "-dst",
      beside?.name ?? "",
      "-udp",
      "-dst-port",
      "5353",
    ]);
    expect(r.code, r.stderr).toBe(8);
    expect(r.stderr).toMatch(/^unknown: forward: the data this trace used is incomplete .*no br-int flows/m);
    expect(r.stdout).not.toMatch(/verdict \([^)]*\): dropped/);
  });

  it("a complete snapshot traces to the verdict, as live", async () => {
    const b = await open(labSnap);
    const target = {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod" as const, namespace: beside?.namespace ?? "", name: beside?.name ?? "" },
      protocol: "udp" as const,
      dstPort: 5353,
    };
    const [report] = await runTraces(b, await resolveTarget(b, target), { skipDetrace: true });
    expect(report?.forward.verdict.kind).toBe("delivered");
  });
});
