import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { ovnDatabases } from "../../src/cluster/node-databases.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { detrace, KNOWN_DIFFERENCES, type DetraceDatabases } from "../../src/explain/detrace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { Hop } from "../../src/model/report.js";
import type { OvsdbDatabase, OvsdbRow } from "../../src/model/ovsdb.js";
import { readOvsdbFile } from "../../src/ovsdb/file.js";
import { newLabDir } from "../helpers/lab.js";
import type { TraceTarget } from "../../src/model/target.js";

const client = { namespace: "default", name: "client" };
const CASES: Record<string, TraceTarget> = {
  "pod to pod across nodes": {
    src: client,
    dst: { kind: "pod", namespace: "default", name: "fedora-deployment-6c9b5f8d4-p8wzn" },
    protocol: "tcp",
    dstPort: 8080,
  },
  "TCP 80 dropped by the NetworkPolicy": {
    src: client,
    dst: { kind: "pod", namespace: "default", name: "web" },
    protocol: "tcp",
    dstPort: 80,
  },
  service: {
    src: client,
    dst: { kind: "service", namespace: "default", name: "web" },
    protocol: "tcp",
    dstPort: 80,
  },
  "DNS service over IPv6": {
    src: client,
    dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
    protocol: "udp",
    dstPort: 53,
    family: 6,
  },
  external: { src: client, dst: { kind: "ip", ip: "8.8.8.8" }, protocol: "tcp", dstPort: 443 },
};

/**
 * Line for line the same, modulo KNOWN_DIFFERENCES: of those only "duplicate-order" can show where
 * ovn-detrace succeeds, and only when rows share a uuid prefix (it then prints a [Duplicate uuid ...] line);
 * the annotation lines of each block are then compared as sets.
 */
function expectSameOutput(ours: string, theirs: string): void {
  expect(KNOWN_DIFFERENCES.map((d) => d.id)).toEqual(["duplicate-order", "no-crash"]);
  const lines = theirs.includes("[Duplicate uuid") ? sortedAnnotationRuns : (t: string) => t.split("\n");
  expect(lines(ours)).toEqual(lines(theirs));
}

function sortedAnnotationRuns(text: string): string[] {
  const out: string[] = [];
  let run: string[] = [];
  for (const line of text.split("\n")) {
    if (/^ {2,3}\* /.test(line)) run.push(line);
    else {
      out.push(...run.sort(), line);
      run = [];
    }
  }
  return [...out, ...run.sort()];
}

const OVN_DETRACE = 'exec ovn-detrace --ovnnb="$OVN_NB_DB" --ovnsb="$OVN_SB_DB"';
const OVN_DETRACE_OVS = `${OVN_DETRACE} --ovs --ovsdb="unix:$OVS_RUNDIR/db.sock"`;

describe.each(["central", "interconnect"] as const)("native ovn-detrace (%s)", (shape) => {
  let state: LabState;
  let backend: LabBackend;
  const dbsByNode = new Map<string, Promise<DetraceDatabases>>();
  const kindsSeen = new Set<string>();

  async function realDetrace(node: string, input: string, script = OVN_DETRACE): Promise<string> {
    const r = await runOnNode(state, node, ["sh", "-c", script], 30_000, input);
    expect(r.stderr).toBe("");
    expect(r.exitCode).toBe(0);
    return r.stdout;
  }

  function dbsOf(node: string): Promise<DetraceDatabases> {
    let p = dbsByNode.get(node);
    if (p === undefined) {
      p = (async () => {
        const { nb, sb } = await ovnDatabases(backend, new Map(), node);
        const r = await runOnNode(state, node, [
          "sh",
          "-c",
          'exec ovsdb-client backup "unix:$OVS_RUNDIR/db.sock" Open_vSwitch',
        ]);
        expect(r.exitCode).toBe(0);
        return { nb, sb, ovs: readOvsdbFile(Buffer.from(r.stdout, "utf8")) };
      })();
      dbsByNode.set(node, p);
    }
    return p;
  }

  async function hopsOf(target: TraceTarget): Promise<Hop[]> {
    const r = await resolveTarget(backend, target);
    const reports = await runTraces(backend, r, { skipDetrace: true });
    const hops = reports.flatMap((x) => [...x.forward.hops, ...(x.reply?.hops ?? [])]);
    return hops.filter((h) => h.tool === "ofproto/trace");
  }

  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`, shape), newLabDir())).state;
    backend = LabBackend.open(state.dir);
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  it.each(Object.entries(CASES))("prints what ovn-detrace prints: %s", async (_name, target) => {
    const hops = await hopsOf(target);
    expect(hops.length).toBeGreaterThan(0);
    for (const hop of hops) {
      const expected = await realDetrace(hop.node, hop.output);
      const { nb, sb } = await dbsOf(hop.node);
      const ours = detrace(hop.output, { nb, sb });
      expectSameOutput(ours, expected);
      // the annotations are really there: a logical flow for every cookie OVN installed
      expect(ours).toMatch(/^ {2}\* Logical flow: table=\d+ \(\w+\), priority=\d+, match=\(/m);
      for (const m of ours.matchAll(/^ {2,3}\* ([A-Za-z ]+):/gm)) if (m[1] !== undefined) kindsSeen.add(m[1]);
    }
  });

  it("compared outputs that annotate every kind of row the lab's traces reach", () => {
    for (const kind of [
      "Logical datapaths",
      "Logical flow",
      "ACL",
      "Logical Switch Port",
      "Logical Router Port",
      "Route",
      "Load Balancer",
      "NAT",
      "Logical datapath",
      "Port Binding",
      "Multicast Group",
    ])
      expect(kindsSeen).toContain(kind);
  });

  it("formats odd strings in lists as Python's repr does (quotes, escapes, unicode, sort order)", async () => {
    const hops = await hopsOf(CASES["pod to pod across nodes"] ?? ({} as TraceTarget));
    const hop = hops.find((h) => h.output.includes("cookie"));
    expect(hop).toBeDefined();
    if (hop === undefined) return;
    const odd = String.raw`["it's", "say \"hi\"", "both ' and \"", "tab\there", "\u00e9t\u00e9", "zero\u200bwidth", "B", "a", "10", "9", "back\\slash"]`;
    const set = await runOnNode(state, hop.node, [
      "ovn-nbctl",
      "set",
      "Logical_Switch_Port",
      `stor-${hop.node}`,
      `port_security=${odd}`,
    ]);
    expect(set.stderr).toBe("");
    try {
      const expected = await realDetrace(hop.node, hop.output);
      expect(expected).toContain(
        String.raw`security ['10', '9', 'B', 'a', 'back\\slash', 'both \' and "', "it's"`,
      );
      const { nb, sb } = await ovnDatabases(backend, new Map(), hop.node);
      expectSameOutput(detrace(hop.output, { nb, sb }), expected);
    } finally {
      // the other tests compare against databases read before this change
      const lsp = `stor-${hop.node}`;
      await runOnNode(state, hop.node, ["ovn-nbctl", "clear", "Logical_Switch_Port", lsp, "port_security"]);
    }
  });

  it("names the OVS interfaces of in_port and output as ovn-detrace --ovs does", async () => {
    const hops = await hopsOf(CASES["pod to pod across nodes"] ?? ({} as TraceTarget));
    for (const hop of hops) {
      const expected = await realDetrace(hop.node, hop.output, OVN_DETRACE_OVS);
      const ours = detrace(hop.output, await dbsOf(hop.node));
      expectSameOutput(ours, expected);
    }
    const annotated = await Promise.all(hops.map(async (h) => detrace(h.output, await dbsOf(h.node))));
    expect(annotated.join("\n")).toMatch(/^ {2}\* OVS Interface: \S+ \(default_client\)$/m);
  });

  it("prints a cookie that matches no row as ovn-detrace does: the line, and nothing about it", async () => {
    const input = [
      'bridge("br-int")',
      "----------------",
      " 0. in_port=7, priority 100, cookie 0xdeadbeef",
      "    set_field:0x2->reg14",
      "    output:12",
      "    set_field:0x1->reg13",
      "    resubmit(,8)",
      " 8. priority 0, cookie 0x0",
      "    drop",
      "",
      "Final flow: unchanged",
    ].join("\n");
    const expected = await realDetrace("ovn-worker", input);
    const { nb, sb, ovs } = await dbsOf("ovn-worker");
    expect(detrace(input, { nb, sb })).toBe(expected);
    expect(expected).not.toMatch(/\* /);
    // with --ovs the ofports are named (in_port by its last digit only: the script's regex quirk)
    expect(detrace(input, { nb, sb, ovs })).toBe(await realDetrace("ovn-worker", input, OVN_DETRACE_OVS));
  });

  it("does not crash on databases without ovn-kubernetes (or any) external_ids", async () => {
    const hops = await hopsOf(CASES["TCP 80 dropped by the NetworkPolicy"] ?? ({} as TraceTarget));
    const hop = hops[0];
    expect(hop).toBeDefined();
    if (hop === undefined) return;
    const { nb, sb } = await dbsOf(hop.node);
    const out = detrace(hop.output, { nb: withoutExternalIds(nb), sb: withoutExternalIds(sb) });
    // no stage-name, no datapath name, no stage-hint (so no ACL line): Python's None, as the script prints
    expect(out).toMatch(/^ {2}\* Logical flow: table=\d+ \(None\), priority=/m);
    expect(out).toMatch(/^ {2}\* {5}"None" \([0-9a-f-]{36}\) \[(ingress|egress)\]$/m);
    expect(out).not.toMatch(/^ {3}\* ACL: /m);
  });
});

function withoutExternalIds(db: OvsdbDatabase): OvsdbDatabase {
  const strip = (rows: Readonly<Record<string, OvsdbRow>>) =>
    Object.fromEntries(
      Object.entries(rows).map(([uuid, row]) => [
        uuid,
        "external_ids" in row.columns ? { ...row, columns: { ...row.columns, external_ids: {} } } : row,
      ]),
    );
  return {
    ...db,
    tables: Object.fromEntries(Object.entries(db.tables).map(([t, rows]) => [t, strip(rows)])),
  };
}
