import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync } from "node:zlib";
import { describe, expect, it } from "vitest";
import type { OvsdbDatabase, OvsdbRow, OvsdbValue } from "../../src/model/ovsdb.js";
import {
  externalIds,
  followRefs,
  indexRowsByUuid,
  lookupUuid,
  mapColumn,
  options,
  otherConfig,
  optionalAtom,
  rowsByName,
  setColumn,
  stringColumn,
  tableRows,
} from "../../src/ovsdb/index.js";
import { looksLikeOvsdbFile, readOvsdbFile, readOvsdbFileLenient } from "../../src/ovsdb/file.js";
import { concatBytes, fixtureBytes } from "../helpers/fixtures.js";
import { expectOnlyParseErrors, mutateBytes, seededRandom } from "../helpers/fuzz.js";
import { ParseError } from "../../src/errors.js";

// Real files written by OVS 3.1.0 / OVN 23.03 (and one by OVS 2.9); see test/fixtures/ovsdb/README.md.
function fixture(name: string): Uint8Array {
  const raw = fixtureBytes(`ovsdb/${name}`);
  return name.endsWith(".gz") ? new Uint8Array(gunzipSync(raw)) : raw;
}
function fixtureText(name: string): string {
  return new TextDecoder().decode(fixture(name));
}

const NB = fixture("nb.db");
const NB_BACKUP = fixture("nb.backup.db");
const SB = fixture("sb.db.gz");
const SB_BACKUP = fixture("sb.backup.db.gz");
const CONF = fixture("conf.db");
const CONF_BACKUP = fixture("conf.backup.db");
const CLUSTERED = fixture("nb-clustered.db");
const CLUSTERED_AS_STANDALONE = fixture("nb-clustered.standalone.db");
const LAB_NB = fixture("lab-ovnnb_db.db");
const LAB_SB = fixture("lab-ovnsb_db.db.gz");
const LAB_CONF = fixture("lab-worker-conf.db");
const DEVSTACK = fixture("ovsdb_open-vswitch_conf-db_devstack_FIRST-7-RECORDS.db");
const REF_NB_BACKUP = fixture("ref-ovn-nb.backup.db");

const ALL_FILES: Record<string, Uint8Array> = {
  NB,
  NB_BACKUP,
  SB,
  SB_BACKUP,
  CONF,
  CONF_BACKUP,
  CLUSTERED,
  CLUSTERED_AS_STANDALONE,
  LAB_NB,
  LAB_SB,
  LAB_CONF,
  DEVSTACK,
  REF_NB_BACKUP,
};

const enc = new TextEncoder();

/** An OVSDB log record exactly as ovsdb-server frames it: the length and SHA-1 cover the JSON plus "\n". */
function record(json: unknown, magic: "JSON" | "CLUSTER" = "JSON"): Uint8Array {
  const body = enc.encode(`${JSON.stringify(json)}\n`);
  const sha1 = createHash("sha1").update(body).digest("hex");
  return concatBytes(enc.encode(`OVSDB ${magic} ${body.length} ${sha1}\n`), body);
}

function only<T>(items: readonly T[]): T {
  expect(items).toHaveLength(1);
  return items[0] as T;
}

function rowNamed(db: OvsdbDatabase, table: string, name: string): OvsdbRow {
  return only(rowsByName(db, table, name));
}

function parseError(fn: () => unknown): ParseError {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ParseError);
    return e as ParseError;
  }
  throw new Error("expected a ParseError, got a result");
}

function rowCount(db: OvsdbDatabase, table: string): number {
  return tableRows(db, table).length;
}

function columnsOf(db: OvsdbDatabase): Record<string, Record<string, unknown>> {
  const out: Record<string, Record<string, unknown>> = {};
  for (const [table, rows] of Object.entries(db.tables)) {
    out[table] = Object.fromEntries(Object.entries(rows).map(([uuid, row]) => [uuid, row.columns]));
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// `ovsdb-client dump -f json` of the same database, captured while ovsdb-server served it: the oracle.
// ---------------------------------------------------------------------------------------------

interface DumpTable {
  caption: string;
  headings: string[];
  data: unknown[][];
}

/** OVSDB JSON as ovsdb-client prints it, in its own order: uuid unwrapped, set → list, map → [k, v] pairs. */
function canonical(raw: unknown): unknown {
  if (Array.isArray(raw) && raw[0] === "uuid") return raw[1];
  if (Array.isArray(raw) && raw[0] === "set") return (raw[1] as unknown[]).map(canonical);
  if (Array.isArray(raw) && raw[0] === "map") {
    return (raw[1] as [unknown, unknown][]).map(([k, v]) => [String(canonical(k)), canonical(v)]);
  }
  return raw;
}

function ours(value: OvsdbValue, shape: string): unknown {
  if (shape !== "map") return value;
  // Map key order in a JS object is not OVSDB's order (integer-like keys come first): compare as sorted pairs.
  return Object.entries(value);
}

/** Compares every persistent column of every row; returns the differences (empty when equal). */
function diffAgainstDump(
  db: OvsdbDatabase,
  dumpText: string,
): { rows: number; cells: number; diffs: string[] } {
  const diffs: string[] = [];
  let rows = 0;
  let cells = 0;
  for (const line of dumpText.trim().split("\n")) {
    const t = JSON.parse(line) as DumpTable;
    const table = t.caption.replace(/ table$/, "");
    const schema = db.schema.tables[table];
    if (schema === undefined) {
      diffs.push(`${table}: not in our schema`);
      continue;
    }
    if (rowCount(db, table) !== t.data.length)
      diffs.push(`${table}: ${rowCount(db, table)} rows, dump has ${t.data.length}`);
    for (const r of t.data) {
      rows++;
      const uuid = canonical(r[0]) as string;
      const row = db.tables[table]?.[uuid];
      if (row === undefined) {
        diffs.push(`${table} ${uuid}: missing`);
        continue;
      }
      t.headings.forEach((col, i) => {
        const colSchema = schema.columns[col];
        if (col === "_uuid" || colSchema?.ephemeral === true) return; // never written to standalone files
        if (colSchema === undefined) return void diffs.push(`${table}.${col}: not in our schema`);
        let expected = canonical(r[i]);
        if (colSchema.shape === "set" && !Array.isArray(expected)) expected = [expected];
        if (colSchema.shape === "map")
          expected = (expected as [string, unknown][]).sort(([a], [b]) => (a < b ? -1 : 1));
        const got = ours(row.columns[col] as OvsdbValue, colSchema.shape);
        if (colSchema.shape === "map") (got as [string, unknown][]).sort(([a], [b]) => (a < b ? -1 : 1));
        cells++;
        if (JSON.stringify(got) !== JSON.stringify(expected)) {
          diffs.push(`${table} ${uuid} ${col}: ours ${JSON.stringify(got)} dump ${JSON.stringify(expected)}`);
        }
      });
    }
  }
  return { rows, cells, diffs };
}

/** `ovn-nbctl list Logical_Switch_Port` text: name → addresses, read from its `name` / `addresses` lines. */
function lspAddressesFromList(text: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const block of text.trim().split(/\n\n/)) {
    const field = (key: string) => new RegExp(`^${key}\\s+: (.*)$`, "m").exec(block)?.[1] ?? "";
    const nameText = field("name");
    const name = nameText.startsWith('"') ? (JSON.parse(nameText) as string) : nameText;
    const list = field("addresses").replace(/^\[|\]$/g, "");
    const addresses = [...list.matchAll(/"((?:[^"\\]|\\.)*)"|([^,\s][^,]*)/g)].map((m) =>
      m[1] !== undefined ? (JSON.parse(`"${m[1]}"`) as string) : (m[2] ?? ""),
    );
    out.set(name, addresses);
  }
  return out;
}

describe("readOvsdbFile against ovsdb-client dump of the same served database", () => {
  const cases: [string, Uint8Array, string, number][] = [
    ["standalone NB log", NB, "nb.dump.json", 14],
    ["NB backup", NB_BACKUP, "nb.dump.json", 14],
    ["standalone SB log (ovn-northd wrote it)", SB, "sb.dump.json.gz", 281],
    ["SB backup", SB_BACKUP, "sb.dump.json.gz", 281],
    ["standalone Open_vSwitch log", CONF, "conf.dump.json", 14],
    ["Open_vSwitch backup", CONF_BACKUP, "conf.dump.json", 14],
    ["clustered NB", CLUSTERED, "nb-clustered.dump.json", 7],
    [
      "clustered NB converted by ovsdb-tool cluster-to-standalone",
      CLUSTERED_AS_STANDALONE,
      "nb-clustered.dump.json",
      7,
    ],
    ["lab NB", LAB_NB, "lab-nb.dump.json", 71],
    ["lab SB", LAB_SB, "lab-sb.dump.json.gz", 733],
    [
      "lab ovn-worker Open_vSwitch (ovs-vswitchd and ovn-controller running)",
      LAB_CONF,
      "lab-worker-conf.dump.json",
      25,
    ],
  ];
  it.each(cases)("%s: every row and persistent column equal", (_what, file, dump, expectedRows) => {
    const db = readOvsdbFile(file);
    const { rows, cells, diffs } = diffAgainstDump(db, fixtureText(dump));
    expect(diffs).toEqual([]);
    expect(rows).toBe(expectedRows);
    expect(cells).toBeGreaterThan(rows);
  });
});

describe("standalone NB log (ovn-nbctl inserts, set and map updates, deletes)", () => {
  const db = readOvsdbFile(NB);

  it("has the schema's identity and every record", () => {
    expect(db.kind).toBe("ovsdb-database");
    expect(db.format).toBe("standalone");
    expect(db.name).toBe("OVN_Northbound");
    expect(db.version).toBe("7.0.0");
    expect(db.schema.cksum).toBe("94023179 33468");
    expect(db.records).toHaveLength(46);
    expect(db.transactions).toBe(45);
    expect(db.bytesRead).toBe(NB.length);
    expect(db.tableNames).toContain("Logical_Switch_Port");
    expect(db.tableNames).toHaveLength(Object.keys(db.schema.tables).length);
    expect(db.records[0]).toMatchObject({ index: 0, kind: "schema", offset: 0 });
    expect(db.records[2]).toMatchObject({
      kind: "transaction",
      date: 1795435159158,
      comment: expect.stringContaining("ls-add sw0") as string,
      tables: ["Logical_Switch"],
    });
  });

  it("every Logical_Switch_Port name and addresses equal `ovn-nbctl list`", () => {
    const listed = lspAddressesFromList(fixtureText("nb.lsp-list.txt"));
    const got = new Map(
      tableRows(db, "Logical_Switch_Port").map((r) => [stringColumn(r, "name"), setColumn(r, "addresses")]),
    );
    expect(got).toEqual(listed);
    expect(listed.get("sw0-p2")).toEqual(["0a:58:0a:00:00:04 10.0.0.4", "router"]);
    expect(listed.size).toBe(4);
  });

  it("applies _is_diff map diffs: add, replace, and remove-by-same-value", () => {
    // set pod=true namespace=default; set namespace=kube-system; remove pod (logged as the diff {pod: true})
    const p1 = rowNamed(db, "Logical_Switch_Port", "sw0-p1");
    expect(externalIds(p1)).toEqual({ namespace: "kube-system" });
    expect(options(p1)).toEqual({ "requested-chassis": "node1" });
    expect(p1.columns.port_security).toEqual(["0a:58:0a:00:00:03 10.0.0.3"]);
    const global = only(tableRows(db, "NB_Global"));
    expect(options(global)).toMatchObject({ mac_prefix: "0a:58:00", northd_probe_interval: "5000" });
    expect(global.columns.nb_cfg).toBe(6);
  });

  it("applies _is_diff set diffs (a single atom toggles one element) and keeps OVSDB order", () => {
    const as1 = rowNamed(db, "Address_Set", "as1");
    expect(as1.columns.addresses).toEqual(["10.0.0.4", "10.0.0.9"]);
    const sw0 = rowNamed(db, "Logical_Switch", "sw0");
    expect(sw0.columns.ports).toEqual([
      "680a87c9-7b32-4911-8030-c8524debd752",
      "80101d24-397f-42ee-a495-ae2339e23989",
      "b34ef063-c8b5-47ae-bd11-73709d27b347",
      "f007418a-5672-41bd-b70e-355475c9d0bf",
    ]);
    expect(otherConfig(sw0)).toEqual({ subnet: "10.0.0.0/24" });
  });

  it("drops deleted rows (lsp-del, ls-del, acl-del)", () => {
    expect(rowsByName(db, "Logical_Switch", "sw1")).toEqual([]);
    expect(rowsByName(db, "Logical_Switch_Port", "sw1-p1")).toEqual([]);
    const acl = only(tableRows(db, "ACL"));
    expect(acl.columns).toMatchObject({ priority: 1001, direction: "to-lport", action: "allow-related" });
    expect(acl.columns.match).toBe("ip4.src == 10.0.0.4");
  });

  it("decodes strings with unicode, quotes, tab and newline, and integer-valued maps", () => {
    const odd = rowNamed(db, "Logical_Switch_Port", 'sw0-p3 ünïcode "quoted"');
    expect(externalIds(odd)).toEqual({ desc: "tab\tand\nnewline" });
    const qos = only(tableRows(db, "QoS"));
    expect(mapColumn(qos, "bandwidth")).toEqual({ burst: 100, rate: 1000 });
    expect(qos.columns.priority).toBe(100);
    const lb = rowNamed(db, "Load_Balancer", "lb0");
    expect(mapColumn(lb, "vips")).toEqual({
      "10.96.0.1:80": "10.0.0.3:8080,10.0.0.4:8080",
      "10.96.0.2:53": "10.0.0.5:53",
    });
  });

  it("fills unset columns with defaults shaped by the schema", () => {
    const p2 = rowNamed(db, "Logical_Switch_Port", "sw0-p2");
    expect(p2.columns.type).toBe("");
    expect(p2.columns.enabled).toEqual([]); // optional boolean, never set
    expect(p2.columns.tag).toEqual([]);
    expect(p2.columns.options).toEqual({});
    expect(Object.keys(p2.columns).sort()).toEqual(
      Object.keys(db.schema.tables.Logical_Switch_Port?.columns ?? {}).sort(),
    );
  });

  it("records which record inserted and last changed a row", () => {
    const p1 = rowNamed(db, "Logical_Switch_Port", "sw0-p1");
    expect(db.records[p1.source.insertedBy]?.comment).toContain("lsp-add sw0 sw0-p1");
    // ovn-northd set `up` after the last ovn-nbctl change
    expect(db.records[p1.source.updatedBy]?.comment).toBe("ovn-northd");
    expect(p1.source.updatedBy).toBeGreaterThan(p1.source.insertedBy);
  });

  it("equals its compacted backup", () => {
    expect(columnsOf(readOvsdbFile(NB_BACKUP))).toEqual(columnsOf(db));
  });
});

describe("uuid index and accessors", () => {
  const db = readOvsdbFile(NB);
  const index = indexRowsByUuid(db);

  it("indexes every row of every table", () => {
    const total = Object.values(db.tables).reduce((n, rows) => n + Object.keys(rows).length, 0);
    expect(Object.keys(index)).toHaveLength(total);
    expect(total).toBe(14);
    expect(lookupUuid(index, "F007418A-5672-41BD-B70E-355475C9D0BF")?.table).toBe("Logical_Switch_Port");
    expect(lookupUuid(index, "00000000-0000-0000-0000-000000000000")).toBeUndefined();
  });

  it("follows references through the schema's refTable", () => {
    const sw0 = rowNamed(db, "Logical_Switch", "sw0");
    const ports = followRefs(db, index, sw0, "ports").map(
      (r) => `${r.table}:${stringColumn(r.row, "name") ?? ""}`,
    );
    expect(ports.sort()).toEqual([
      "Logical_Switch_Port:sw0-p1",
      "Logical_Switch_Port:sw0-p2",
      'Logical_Switch_Port:sw0-p3 ünïcode "quoted"',
      "Logical_Switch_Port:sw0-p4",
    ]);
    expect(followRefs(db, index, sw0, "load_balancer").map((r) => stringColumn(r.row, "name"))).toEqual([
      "lb0",
    ]);
    expect(followRefs(db, index, sw0, "name")).toEqual([]);
  });

  it("follows uuid values of an integer-keyed map (QoS.queues)", () => {
    const conf = readOvsdbFile(CONF);
    const qos = only(tableRows(conf, "QoS"));
    expect(mapColumn(qos, "queues")).toEqual({
      "0": "1110f606-6e18-4884-9c8e-c43717e86efc",
      "7": "42673241-fe7a-446b-8c96-00266f4b0226",
    });
    const queues = followRefs(conf, indexRowsByUuid(conf), qos, "queues").map((r) => otherConfig(r.row));
    expect(queues).toEqual([{ "min-rate": "100" }, { "max-rate": "500" }]);
  });
});

describe("standalone Open_vSwitch log (ovs-vsctl)", () => {
  const db = readOvsdbFile(CONF);

  it("keeps single-atom sets as one-element arrays and optional scalars as 0/1 arrays", () => {
    const brInt = rowNamed(db, "Bridge", "br-int");
    expect(brInt.columns.protocols).toEqual(["OpenFlow13"]); // set to three, then to one
    expect(brInt.columns.fail_mode).toEqual(["secure"]);
    expect(otherConfig(brInt)).toEqual({ "disable-in-band": "true" });
    const eth0 = rowNamed(db, "Port", "eth0");
    expect(eth0.columns.trunks).toEqual([20]);
    expect(optionalAtom(eth0, "tag")).toBe(5);
    expect(optionalAtom(eth0, "qos")).toBe("f176bbf2-d9fe-4f50-8835-1b927a4507c9");
  });

  it("applies key removal and port deletion", () => {
    const iface = rowNamed(db, "Interface", "sw0-p1");
    expect(externalIds(iface)).toEqual({ "attached-mac": "0a:58:0a:00:00:03" });
    expect(iface.columns.ofport_request).toEqual([5]);
    expect(rowsByName(db, "Port", "tmp0")).toEqual([]);
    expect(rowsByName(db, "Interface", "tmp0")).toEqual([]);
    expect(externalIds(only(tableRows(db, "Open_vSwitch")))).toEqual({
      "ovn-encap-ip": "172.18.0.2",
      "ovn-encap-type": "geneve",
      "system-id": "node1",
    });
  });
});

describe("SB logs written by ovn-northd", () => {
  function flowsPerPipeline(db: OvsdbDatabase): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of tableRows(db, "Logical_Flow")) {
      const p = stringColumn(f, "pipeline") ?? "";
      out[p] = (out[p] ?? 0) + 1;
    }
    return out;
  }

  it("counts Logical_Flows per pipeline as the dump does", () => {
    expect(flowsPerPipeline(readOvsdbFile(SB))).toEqual({ ingress: 160, egress: 51 });
    expect(flowsPerPipeline(readOvsdbFile(SB_BACKUP))).toEqual({ ingress: 160, egress: 51 });
    expect(flowsPerPipeline(readOvsdbFile(LAB_SB))).toEqual({ ingress: 484, egress: 92 });
  });

  it("clears an optional reference (lsp-bind then lsp-unbind)", () => {
    const db = readOvsdbFile(SB);
    const pb = only(tableRows(db, "Port_Binding").filter((r) => r.columns.logical_port === "sw0-p1"));
    expect(pb.columns.chassis).toEqual([]);
    const chassis = rowNamed(db, "Chassis", "node1");
    expect(externalIds(chassis)).toEqual({ "ovn-bridge-mappings": "physnet:breth0" });
    const index = indexRowsByUuid(db);
    const encap = only(followRefs(db, index, chassis, "encaps"));
    expect(encap.row.columns).toMatchObject({ type: "geneve", ip: "172.18.0.2" });
  });

  it("resolves lab Logical_Flow datapaths to their Datapath_Binding", () => {
    const db = readOvsdbFile(LAB_SB);
    const index = indexRowsByUuid(db);
    const flows = tableRows(db, "Logical_Flow");
    const withDp = flows.filter((f) => setColumn(f, "logical_datapath").length === 1);
    const withGroup = flows.filter((f) => setColumn(f, "logical_dp_group").length === 1);
    expect(withDp.length + withGroup.length).toBe(flows.length);
    for (const f of withDp)
      expect(only(followRefs(db, index, f, "logical_datapath")).table).toBe("Datapath_Binding");
  });
});

describe("lab NB", () => {
  const db = readOvsdbFile(LAB_NB);

  it("every Logical_Switch_Port name and addresses equal `ovn-nbctl list`", () => {
    const listed = lspAddressesFromList(fixtureText("lab-nb.lsp-list.txt"));
    const got = new Map(
      tableRows(db, "Logical_Switch_Port").map((r) => [stringColumn(r, "name"), setColumn(r, "addresses")]),
    );
    expect(got).toEqual(listed);
    expect(listed.size).toBe(22);
    expect(listed.get("default_web")).toEqual(["0a:58:0a:f4:02:04 10.244.2.4"]);
  });
});

describe("clustered (RAFT) NB", () => {
  const db = readOvsdbFile(CLUSTERED);

  it("reads the header and the entries", () => {
    expect(db.format).toBe("clustered");
    expect(db.name).toBe("OVN_Northbound");
    expect(db.raft).toEqual({
      clusterId: "3ed7315b-1791-4beb-946b-a86e5fad1c5b",
      serverId: "40f27cbc-4f6c-4211-bb6f-8f7b7ed44819",
      name: "OVN_Northbound",
      localAddress: "unix:/tmp/ovsdbfx/cl/nb-raft.sock",
      servers: { "40f27cbc-4f6c-4211-bb6f-8f7b7ed44819": "unix:/tmp/ovsdbfx/cl/nb-raft.sock" },
      snapshotTerm: 1,
      snapshotIndex: 1,
      lastTerm: 1,
      lastIndex: 13,
      commitIndex: 13,
      entriesApplied: 12,
    });
    expect(db.transactions).toBe(11);
    const kinds = db.records.map((r) => r.kind);
    expect(kinds.filter((k) => k === "raft-entry")).toHaveLength(12);
    expect(kinds.filter((k) => k === "raft-commit")).toHaveLength(12);
    expect(kinds.slice(0, 3)).toEqual(["raft-header", "raft-vote", "raft-leader"]);
    expect(db.records.at(-2)).toMatchObject({
      kind: "raft-entry",
      term: 1,
      raftIndex: 13,
      tables: expect.arrayContaining(["Load_Balancer"]) as string[],
    });
  });

  it("has the transactions' content", () => {
    const web0 = rowNamed(db, "Logical_Switch_Port", "default_web-0");
    expect(externalIds(web0)).toEqual({ namespace: "prod" });
    expect(rowNamed(db, "Logical_Switch_Port", "default_web-1").columns.addresses).toEqual([
      "0a:58:0a:f4:01:06 10.244.1.6",
      "router",
    ]);
    expect(rowsByName(db, "Logical_Switch_Port", "tmp-port")).toEqual([]);
  });

  it("equals the result on its `ovsdb-tool cluster-to-standalone` conversion", () => {
    expect(columnsOf(readOvsdbFile(CLUSTERED_AS_STANDALONE))).toEqual(columnsOf(db));
  });

  it("replays RAFT log truncation: a later entry for the same index replaces the old one and its successors", () => {
    const header = JSON.parse(recordJson(CLUSTERED, 0)) as Record<string, unknown>;
    const lsp = (uuid: string, name: string) => ({
      Logical_Switch_Port: { [uuid]: { name } },
      _is_diff: true,
    });
    const a = "aaaaaaaa-0000-4000-8000-000000000001";
    const b = "bbbbbbbb-0000-4000-8000-000000000002";
    const c = "cccccccc-0000-4000-8000-000000000003";
    const file = concatBytes(
      record(header, "CLUSTER"),
      record({ term: 1, index: 2, data: [null, lsp(a, "kept")] }, "CLUSTER"),
      record({ term: 1, index: 3, data: [null, lsp(b, "overwritten")] }, "CLUSTER"),
      record({ term: 1, index: 4, data: [null, lsp(c, "also-overwritten")] }, "CLUSTER"),
      record({ term: 2, index: 3, data: [null, lsp(c, "winner")] }, "CLUSTER"),
      record({ term: 2, leader: "40f27cbc-4f6c-4211-bb6f-8f7b7ed44819" }, "CLUSTER"),
    );
    const got = readOvsdbFile(file);
    expect(
      tableRows(got, "Logical_Switch_Port")
        .map((r) => stringColumn(r, "name"))
        .sort(),
    ).toEqual(["kept", "winner"]);
    expect(got.raft).toMatchObject({ lastIndex: 3, lastTerm: 2, entriesApplied: 2 });
  });

  it.skipIf(!hasOvsdbTool())(
    "agrees with ovsdb-tool db-is-clustered and cluster-to-standalone run now",
    () => {
      const dir = mkdtempSync(join(tmpdir(), "ovsdb-file-test-"));
      try {
        writeFileSync(join(dir, "c.db"), CLUSTERED);
        writeFileSync(join(dir, "s.db"), NB);
        expect(spawnSync("ovsdb-tool", ["db-is-clustered", join(dir, "c.db")]).status).toBe(0);
        expect(spawnSync("ovsdb-tool", ["db-is-clustered", join(dir, "s.db")]).status).toBe(2);
        const conv = spawnSync("ovsdb-tool", [
          "cluster-to-standalone",
          join(dir, "out.db"),
          join(dir, "c.db"),
        ]);
        expect(conv.status).toBe(0);
        const converted = readOvsdbFile(new Uint8Array(readFileSync(join(dir, "out.db"))));
        expect(converted.format).toBe("standalone");
        expect(columnsOf(converted)).toEqual(columnsOf(db));
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  );
});

function hasOvsdbTool(): boolean {
  return spawnSync("ovsdb-tool", ["--version"]).status === 0;
}

/** The JSON text of record `n`, found by walking the header lines (independently of the reader). */
function recordJson(file: Uint8Array, n: number): string {
  let at = 0;
  for (let i = 0; ; i++) {
    const nl = file.indexOf(0x0a, at);
    const length = Number(new TextDecoder().decode(file.subarray(at, nl)).split(" ")[2]);
    if (i === n) return new TextDecoder().decode(file.subarray(nl + 1, nl + 1 + length));
    at = nl + 1 + length;
  }
}

describe("files written by other versions", () => {
  it("reads an OVS 2.9 log without _is_diff: modified columns hold the new full value", () => {
    const db = readOvsdbFile(DEVSTACK);
    expect(db.name).toBe("Open_vSwitch");
    expect(db.version).toBe("7.15.1");
    expect(db.transactions).toBe(6);
    const ovs = only(tableRows(db, "Open_vSwitch"));
    expect(ovs.uuid).toBe("9d492a9b-77a3-4c18-8de8-80e78fe55102");
    // record 3 re-lists rundir and system-id: as a diff they would be removed, as a full value they stay
    expect(externalIds(ovs)).toEqual({
      hostname: "storage",
      rundir: "/var/run/openvswitch",
      "system-id": "547c776b-cc07-498b-a1f6-371400fa7389",
    });
    expect(ovs.columns).toMatchObject({
      cur_cfg: 1,
      next_cfg: 1,
      db_version: ["7.15.1"],
      ovs_version: ["2.9.0"],
    });
    expect(setColumn(ovs, "iface_types")).toHaveLength(9);
    expect(ovs.columns.manager_options).toEqual(["97f8467a-2fa6-4f07-9625-8a73d323f35b"]);
    expect(only(tableRows(db, "Manager")).columns.target).toBe("ptcp:6640:127.0.0.1");
  });

  it("reads the reference lab's NB backup (values checked against its nb-dump.txt)", () => {
    const db = readOvsdbFile(REF_NB_BACKUP);
    expect(db.records).toHaveLength(2);
    expect(rowCount(db, "Logical_Switch_Port")).toBe(20);
    const coredns = rowNamed(db, "Logical_Switch_Port", "kube-system_coredns-5d78c9869d-aaaaa");
    expect(coredns.uuid).toBe("8c450a6f-e61f-4b5e-999d-9780c74fef3c");
    expect(coredns.columns.addresses).toEqual(["0a:58:0a:f4:00:03 10.244.0.3"]);
    expect(externalIds(coredns)).toEqual({ namespace: "kube-system", pod: "true" });
    const global = only(tableRows(db, "NB_Global"));
    expect(global.columns).toMatchObject({ nb_cfg: 2, hv_cfg: 2, hv_cfg_timestamp: 1795335345802 });
    expect(options(global).mac_prefix).toBe("9a:4f:ac");
  });
});

// ---------------------------------------------------------------------------------------------
// Damaged files
// ---------------------------------------------------------------------------------------------

// From `ovsdb-tool show-log` on damaged copies of nb.db (README): the last record's JSON starts at
// byte 30116 and record 29's at 25611; each header line is 56 bytes.
const NB_LAST_RECORD = 30060;
const NB_RECORD_29 = 25555;

describe("damaged standalone files", () => {
  it("locates records where ovsdb-tool does", () => {
    const db = readOvsdbFile(NB);
    expect(db.records.at(-1)?.offset).toBe(NB_LAST_RECORD);
    expect(db.records[29]?.offset).toBe(NB_RECORD_29);
    expect(Buffer.from(NB).lastIndexOf("\nOVSDB JSON ") + 1).toBe(NB_LAST_RECORD);
  });

  it("reports a SHA-1 mismatch at the record's offset; lenient stops before it", () => {
    const bad = NB.slice();
    // record 29 is {"Address_Set":{"4efad9f6-…":{"addresses":"10.0.0.3"}},…}: make it "10.0.0.2"
    const at = Buffer.from(NB).indexOf('"addresses":"10.0.0.3"', NB_RECORD_29) + 20;
    expect(at - NB_RECORD_29).toBeLessThan(200);
    bad[at] = 0x32;
    const err = parseError(() => readOvsdbFile(bad));
    expect(err.offset).toBe(NB_RECORD_29);
    expect(err.message).toContain("SHA-1 mismatch");
    expect(err.excerpt).toMatch(/^OVSDB JSON 244 /);
    const lenient = readOvsdbFileLenient(bad);
    expect(lenient.error?.offset).toBe(NB_RECORD_29);
    expect(lenient.database.transactions).toBe(28);
    expect(lenient.database.bytesRead).toBe(NB_RECORD_29);
    expect(rowNamed(lenient.database, "Address_Set", "as1").columns.addresses).toEqual([
      "10.0.0.3",
      "10.0.0.4",
      "10.0.0.9",
    ]);
    // without the check the edited diff is applied: 10.0.0.2 is toggled in, 10.0.0.3 stays
    expect(
      rowNamed(readOvsdbFile(bad, { verifySha1: false }), "Address_Set", "as1").columns.addresses,
    ).toEqual(["10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.9"]);
  });

  it("reports truncation at every byte of the last record; a cut on a record boundary is a shorter, valid log", () => {
    const full = readOvsdbFile(NB);
    for (let cut = NB_LAST_RECORD + 1; cut < NB.length; cut++) {
      const torn = NB.subarray(0, cut);
      const err = parseError(() => readOvsdbFile(torn));
      expect(err.offset).toBe(NB_LAST_RECORD);
      const lenient = readOvsdbFileLenient(torn);
      expect(lenient.error?.offset).toBe(NB_LAST_RECORD);
      expect(lenient.database.transactions).toBe(full.transactions - 1);
      expect(lenient.database.bytesRead).toBe(NB_LAST_RECORD);
    }
    const shorter = readOvsdbFile(NB.subarray(0, NB_LAST_RECORD));
    expect(shorter.transactions).toBe(full.transactions - 1);
  });

  it("reports truncation inside the schema record even in lenient mode", () => {
    const err = parseError(() => readOvsdbFileLenient(NB.subarray(0, 5000)));
    expect(err.offset).toBe(0);
    expect(err.message).toMatch(/truncated record/);
  });

  it.skipIf(!hasOvsdbTool())("ovsdb-tool rejects the same torn file", () => {
    const dir = mkdtempSync(join(tmpdir(), "ovsdb-file-test-"));
    try {
      writeFileSync(join(dir, "t.db"), NB.subarray(0, NB.length - 30));
      const r = spawnSync("ovsdb-tool", ["show-log", join(dir, "t.db")], { encoding: "utf8" });
      expect(r.status).not.toBe(0);
      expect(r.stderr).toContain(`starting at offset ${NB_LAST_RECORD + 56}`);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const header = NB.subarray(0, NB.indexOf(0x0a) + 1);
  const schemaRecord = NB.subarray(0, readOvsdbFile(NB).records[1]?.offset);
  const insertSw = (uuid: string) => ({ Logical_Switch: { [uuid]: { name: "x" } } });
  const SW = "11111111-2222-4333-8444-555555555555";
  const damaged: [string, Uint8Array, RegExp][] = [
    ["bad magic", concatBytes(enc.encode("OVSDB JASON"), NB.subarray(11)), /bad record header/],
    [
      "length shorter than the JSON",
      concatBytes(enc.encode("OVSDB JSON 13000"), NB.subarray(16)),
      /SHA-1 mismatch/,
    ],
    ["length past the end", concatBytes(enc.encode("OVSDB JSON 99999"), NB.subarray(16)), /truncated record/],
    ["header without newline", header.subarray(0, 30), /truncated record header/],
    ["text that is no OVSDB file", enc.encode("ACL table\n_uuid action\n"), /bad record header/],
    ["invalid JSON with a matching SHA-1", rawRecord("{not json}\n"), /invalid JSON/],
    ["invalid UTF-8 with a matching SHA-1", rawRecord(new Uint8Array([0x22, 0xff, 0x22, 0x0a])), /UTF-8/],
    ["schema that is not an object", record([1, 2]), /bad schema/],
  ];
  it.each(damaged)("%s → ParseError at offset 0", (_what, file, message) => {
    const err = parseError(() => readOvsdbFile(file));
    expect(err.offset).toBe(0);
    expect(err.message).toMatch(message);
  });

  const badTxns: [string, unknown, RegExp][] = [
    [
      "a table not in the schema",
      { Logical_Swich: { [SW]: { name: "x" } } },
      /table "Logical_Swich", not in the schema/,
    ],
    ["a column not in the schema", { Logical_Switch: { [SW]: { nam: "x" } } }, /no column "nam"/],
    ["a delete of a missing row", { Logical_Switch: { [SW]: null } }, /deletes a row that does not exist/],
    ["a row key that is no uuid", { Logical_Switch: { "not-a-uuid": { name: "x" } } }, /is not a UUID/],
    ["a value of the wrong type", { Logical_Switch: { [SW]: { name: 7 } } }, /column name: expected string/],
    ["a malformed map", { Logical_Switch: { [SW]: { external_ids: ["map", [["a"]]] } } }, /map entry/],
    ["a transaction that is not an object", [1], /not a JSON object/],
  ];
  it.each(badTxns)(
    "a transaction with %s → ParseError at its record; lenient keeps what came before",
    (_w, txn, message) => {
      const file = concatBytes(
        schemaRecord,
        record(insertSw("99999999-2222-4333-8444-555555555555")),
        record(txn),
      );
      const badAt = schemaRecord.length + record(insertSw("99999999-2222-4333-8444-555555555555")).length;
      const err = parseError(() => readOvsdbFile(file));
      expect(err.offset).toBe(badAt);
      expect(err.message).toMatch(message);
      const lenient = readOvsdbFileLenient(file);
      expect(lenient.error?.offset).toBe(badAt);
      expect(rowCount(lenient.database, "Logical_Switch")).toBe(1);
    },
  );

  it("applies a transaction all or nothing", () => {
    const txn = { Logical_Switch: { [SW]: { name: "ok" } }, Logical_Switch_Port: { [SW]: null } };
    const lenient = readOvsdbFileLenient(concatBytes(schemaRecord, record(txn)));
    expect(lenient.error?.message).toMatch(/deletes a row that does not exist/);
    expect(rowCount(lenient.database, "Logical_Switch")).toBe(0);
  });

  it("rejects a CLUSTER record inside a standalone log", () => {
    const err = parseError(() => readOvsdbFile(concatBytes(schemaRecord, record({ term: 1 }, "CLUSTER"))));
    expect(err.offset).toBe(schemaRecord.length);
  });

  it("reads named-uuid atoms, set notation for scalars and a __proto__ map key as plain data", () => {
    const txn = {
      Logical_Switch: {
        [SW]: {
          name: ["set", ["x"]],
          ports: ["named-uuid", "p1"],
          external_ids: ["map", [["__proto__", "v"]]],
        },
      },
    };
    const db = readOvsdbFile(concatBytes(schemaRecord, record(txn)));
    const sw = only(tableRows(db, "Logical_Switch"));
    expect(sw.columns.name).toBe("x");
    expect(sw.columns.ports).toEqual(["p1"]);
    expect(Object.keys(externalIds(sw))).toEqual(["__proto__"]);
    expect(Object.getPrototypeOf(sw.columns.external_ids)).toBe(Object.prototype);
  });

  it("throws on an empty file", () => {
    expect(parseError(() => readOvsdbFile(new Uint8Array())).offset).toBe(0);
  });
});

function rawRecord(body: string | Uint8Array): Uint8Array {
  const bytes = typeof body === "string" ? enc.encode(body) : body;
  const sha1 = createHash("sha1").update(bytes).digest("hex");
  return concatBytes(enc.encode(`OVSDB JSON ${bytes.length} ${sha1}\n`), bytes);
}

describe("damaged clustered files", () => {
  it("reports truncation at every byte of the last entry with data; lenient keeps the entries before", () => {
    const full = readOvsdbFile(CLUSTERED);
    const last = [...full.records].reverse().find((r) => r.kind === "raft-entry");
    if (last === undefined) throw new Error("no entry");
    for (let cut = last.offset + 1; cut < last.offset + last.byteLength; cut++) {
      const torn = CLUSTERED.subarray(0, cut);
      expect(parseError(() => readOvsdbFile(torn)).offset).toBe(last.offset);
      const lenient = readOvsdbFileLenient(torn);
      expect(lenient.error?.offset).toBe(last.offset);
      expect(lenient.database.transactions).toBe(full.transactions - 1);
      expect(rowsByName(lenient.database, "Load_Balancer", "svc")).toEqual([]);
    }
  });

  it("reports an entry that does not apply at its own offset, before a later framing error", () => {
    const header = JSON.parse(recordJson(CLUSTERED, 0)) as unknown;
    const good = record(
      { term: 1, index: 2, data: [null, { NB_Global: { "aaaaaaaa-0000-4000-8000-000000000001": {} } }] },
      "CLUSTER",
    );
    const bad = record({ term: 1, index: 3, data: [null, { No_Such_Table: {} }] }, "CLUSTER");
    const first = record(header, "CLUSTER");
    const file = concatBytes(first, good, bad, enc.encode("OVSDB CLUSTER 5"));
    const err = parseError(() => readOvsdbFile(file));
    expect(err.offset).toBe(first.length + good.length);
    const lenient = readOvsdbFileLenient(file);
    expect(lenient.error?.offset).toBe(first.length + good.length);
    expect(rowCount(lenient.database, "NB_Global")).toBe(1);
    expect(lenient.database.records.map((r) => r.kind)).toEqual(["raft-header", "raft-entry"]);
  });

  it("rejects an entry index that leaves a gap", () => {
    const header = JSON.parse(recordJson(CLUSTERED, 0)) as unknown;
    const file = concatBytes(record(header, "CLUSTER"), record({ term: 1, index: 5 }, "CLUSTER"));
    expect(parseError(() => readOvsdbFile(file)).message).toMatch(/gap/);
  });
});

// ---------------------------------------------------------------------------------------------
// Sniffing and fuzzing
// ---------------------------------------------------------------------------------------------

describe("looksLikeOvsdbFile", () => {
  it.each(Object.entries(ALL_FILES))("accepts %s", (_name, file) => {
    expect(looksLikeOvsdbFile(file)).toBe(true);
  });
  it("rejects other input", () => {
    expect(looksLikeOvsdbFile(new Uint8Array())).toBe(false);
    expect(looksLikeOvsdbFile(enc.encode(fixtureText("nb.lsp-list.txt")))).toBe(false);
    expect(looksLikeOvsdbFile(enc.encode('{"caption":"ACL table"}\n'))).toBe(false);
    expect(looksLikeOvsdbFile(enc.encode("OVSDB JSON 12 xyz\n"))).toBe(false);
    expect(looksLikeOvsdbFile(fixture("nb.dump.json"))).toBe(false);
  });
  it("accepts the text of a file too", () => {
    expect(looksLikeOvsdbFile(fixtureText("nb.db"))).toBe(true);
    expect(looksLikeOvsdbFile(fixtureText("nb.lsp-list.txt"))).toBe(false);
  });
});

describe("fuzz: damaged real files throw nothing but ParseError", () => {
  const sources = [NB, CONF, CLUSTERED, DEVSTACK, SB_BACKUP];
  it("thousands of random cuts and mutations, with and without the SHA-1 check", () => {
    const random = seededRandom(20261123);
    const mutation = { alphabet: enc.encode('[]{}",:0-e\n ntf"uuid"set"map'), maxChunk: 400 };
    const inputs = Array.from({ length: 3000 }, (_, i) => ({
      bytes: mutateBytes(random, sources[i % sources.length] ?? NB, mutation),
      // Skipping the SHA-1 check lets the mutations reach the JSON, schema and transaction layers.
      opts: { verifySha1: i % 3 !== 0 },
    }));
    expectOnlyParseErrors(
      [readOvsdbFile, readOvsdbFileLenient].map(
        (read) => (input: (typeof inputs)[number]) => read(input.bytes, input.opts),
      ),
      inputs,
      {
        minParsed: 100,
        minRejected: 100,
        checkError: (e, input) => {
          expect(e.offset).toBeGreaterThanOrEqual(0);
          expect(e.offset).toBeLessThanOrEqual(input.bytes.length);
        },
      },
    );
  });
});
