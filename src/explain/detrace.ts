/**
 * A native ovn-detrace: annotates `ovs-appctl ofproto/trace` output with the OVN objects its cookies
 * (the first 32 bits of a Southbound row uuid) and, with an Open_vSwitch database, its ofports name.
 *
 * It prints what `ovn-detrace --ovnnb=... --ovnsb=... [--ovs]` (OVN 23.03) prints for the same input:
 * every input line stripped of surrounding whitespace, and after each flow block whose lines carry a
 * cookie, `  * ` / `   * ` annotation lines for the Logical_Flow (with the NB objects of its stage-hint),
 * Port_Binding, MAC_Binding, Multicast_Group, Chassis and SB Load_Balancer rows whose uuid starts with the
 * cookie. Values are formatted as the Python IDL renders them (lists, dicts, None, True/False).
 *
 * The script scans every table for every cookie; here a cookie is a binary search in the uuid index
 * {@link rowsByUuidPrefix} keeps for each table of a database.
 */

import type {
  OvnDatabases,
  OvsdbAtom,
  OvsdbBaseType,
  OvsdbColumnSchema,
  OvsdbDatabase,
  OvsdbRow,
} from "../model/ovsdb.js";
import { columnValue, compareAtoms, externalIds, rowByUuid, rowsByUuids, tableRows } from "../ovsdb/index.js";
import { COOKIE_TABLES, rowsByUuidPrefix, type CookieTable } from "./ovn-index.js";

export interface DetraceDatabases extends OvnDatabases {
  /** The node's Open_vSwitch database: as `ovn-detrace --ovs`, also names the interfaces of in_port/output. */
  readonly ovs?: OvsdbDatabase;
}

/**
 * Where the output deliberately differs from ovn-detrace's. Neither shows on a healthy database without
 * uuid-prefix collisions: there the output is the same, byte for byte.
 */
export const KNOWN_DIFFERENCES = [
  {
    id: "duplicate-order",
    reason:
      "When several rows of a table share a cookie's uuid prefix, ovn-detrace lists them in the order " +
      "ovsdb-server's monitor reply happened to hash them; we list them in uuid order. The set of lines " +
      "is the same, only their order within one cookie's block can differ (and only on a prefix collision).",
  },
  {
    id: "no-crash",
    reason:
      "Where ovn-detrace dies with a Python exception (a schema without a table or column it reads, a " +
      "dangling datapath reference, an Open_vSwitch database without the integration bridge), we print " +
      "None for the missing value, or nothing for the missing table, and go on.",
  },
] as const;

// --- the trace text, read as the script reads it -------------------------------------------------------

/** Python's str.strip() whitespace (str.isspace), which is not quite JavaScript's trim(). */
const PY_SPACE =
  "\\t\\n\\x0b\\x0c\\r\\x1c-\\x1f \\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

function pyStrip(s: string): string {
  return s.replace(PY_STRIP, "");
}

/** Python's text-mode stdin reads with universal newlines: \r\n, \r and \n all end a line. */
function readLines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines.at(-1) === "") lines.pop();
  return lines;
}

/** Greedy, so the last `cookie 0x...` of a line, as the script's `^.*cookie 0x(...)`; Python's `.` only stops at \n. */
const COOKIE = /^[^\n]*cookie 0x([0-9a-fA-F]+)/;
const TABLE_ID = /^ *[0-9]+\./;
const OUTPUT_PORT = /^ *output:([0-9]+)/;
/** Copied with its quirk: the repeated group keeps only the last digit of the port number. */
const INPUT_PORT = /^ *[0-9]+\. *in_port=([0-9])+/;

// --- Python value formatting ------------------------------------------------------------------------

function pyStrRepr(s: string): string {
  const quote = s.includes("'") && !s.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of s) {
    if (ch === quote || ch === "\\") out += `\\${ch}`;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (ch !== " " && /[\p{C}\p{Z}]/u.test(ch)) out += pyEscape(ch.codePointAt(0) ?? 0);
    else out += ch;
  }
  return out + quote;
}

function pyEscape(cp: number): string {
  if (cp < 0x100) return `\\x${cp.toString(16).padStart(2, "0")}`;
  if (cp < 0x10000) return `\\u${cp.toString(16).padStart(4, "0")}`;
  return `\\U${cp.toString(16).padStart(8, "0")}`;
}

function pyFloat(x: number): string {
  if (Number.isInteger(x) && Math.abs(x) < 1e16) return `${String(x)}.0`;
  return String(x);
}

/** str() of one atom as the IDL hands it over. */
function pyAtomStr(atom: OvsdbAtom, type: OvsdbBaseType): string {
  if (typeof atom === "boolean") return atom ? "True" : "False";
  if (typeof atom === "number") return type.type === "real" ? pyFloat(atom) : String(atom);
  return atom;
}

/** repr() of one atom, as it appears inside a list or dict. */
function pyAtomRepr(atom: OvsdbAtom, type: OvsdbBaseType): string {
  if (typeof atom !== "string") return pyAtomStr(atom, type);
  if (type.type === "uuid" && type.refTable === undefined) return `UUID('${atom}')`;
  return type.type === "uuid" ? atom : pyStrRepr(atom);
}

function mapKey(key: string, type: OvsdbBaseType): OvsdbAtom {
  if (type.type === "integer" || type.type === "real") return Number(key);
  if (type.type === "boolean") return key === "true";
  return key;
}

/** `'%s' % row.<column>` in the script: a scalar as is, other columns as a Python list or dict. */
function pyColumn(db: OvsdbDatabase, row: OvsdbRow, column: string): string {
  const schema = db.schema.tables[row.table]?.columns[column];
  const value = columnValue(row, column);
  if (schema === undefined || value === undefined) return "None";
  return pyValue(schema, value);
}

function pyValue(schema: OvsdbColumnSchema, value: NonNullable<OvsdbRow["columns"][string]>): string {
  if (Array.isArray(value)) {
    // Python's sorted() of the IDL's atoms
    const atoms = [...(value as readonly OvsdbAtom[])].sort(compareAtoms);
    return `[${atoms.map((a) => pyAtomRepr(a, schema.key)).join(", ")}]`;
  }
  if (typeof value === "object") {
    const valueType = schema.value ?? schema.key;
    // OVSDB's order of map keys, which the IDL's dicts keep
    const entries = Object.entries(value)
      .map(([k, v]) => [mapKey(k, schema.key), v] as const)
      .sort(([a], [b]) => compareAtoms(a, b));
    const items = entries.map(([k, v]) => `${pyAtomRepr(k, schema.key)}: ${pyAtomRepr(v, valueType)}`);
    return `{${items.join(", ")}}`;
  }
  return schema.shape === "set" ? `[${pyAtomRepr(value, schema.key)}]` : pyAtomStr(value, schema.key);
}

function atomsOf(row: OvsdbRow, column: string): readonly OvsdbAtom[] {
  const v = columnValue(row, column);
  if (v === undefined || (typeof v === "object" && !Array.isArray(v))) return [];
  return Array.isArray(v) ? (v as readonly OvsdbAtom[]) : [v];
}

function scalar(row: OvsdbRow, column: string): string {
  const v = atomsOf(row, column)[0];
  return v === undefined ? "None" : pyAtomStr(v, { type: typeof v === "number" ? "integer" : "string" });
}

/** `row.external_ids.get(key)`: the value, or None. */
function externalId(row: OvsdbRow, key: string): string {
  const ids = externalIds(row);
  return Object.hasOwn(ids, key) ? String(ids[key]) : "None";
}

function stripQuotes(s: string): string {
  return s.replace(/^"+|"+$/g, "");
}

/** Rows whose uuid starts with the zero-padded cookie or hint (case-sensitive, like `str(uuid).startswith`). */
function rowsByZfilledPrefix(db: OvsdbDatabase, table: string, cookie: string): OvsdbRow[] {
  return rowsByUuidPrefix(db, table, cookie.padStart(8, "0"));
}

/** A reference column as the IDL gives it: rows sorted by uuid, dangling references dropped. */
function refs(db: OvsdbDatabase, row: OvsdbRow, column: string, table: string): OvsdbRow[] {
  return rowsByUuids(db, table, [...atomsOf(row, column)].sort(compareAtoms));
}

// --- the handlers -------------------------------------------------------------------------------------

type Emit = (line: string) => void;
const primary = (out: Emit, s: string) => {
  out(`  * ${s}`);
};
const hint = (out: Emit, s: string) => {
  out(`   * ${s}`);
};

function datapathStr(db: OvsdbDatabase, uuid: OvsdbAtom | undefined): string {
  const dp = rowByUuid(db, "Datapath_Binding", uuid);
  return `"${dp === undefined ? "None" : externalId(dp, "name")}" (${String(uuid ?? "None")})`;
}

function chassisStr(chassis: OvsdbRow | undefined): string {
  if (chassis === undefined) return "";
  return `chassis-name "${scalar(chassis, "name")}", chassis-str "${scalar(chassis, "hostname")}"`;
}

/** An NB table the stage-hint is looked up in, and how the script prints its rows. */
interface HintTable {
  readonly table: string;
  readonly format: (nb: OvsdbDatabase, row: OvsdbRow) => string;
}

const col = (nb: OvsdbDatabase, row: OvsdbRow, c: string) => pyColumn(nb, row, c);

const HINT_TABLES: readonly HintTable[] = [
  {
    table: "ACL",
    format: (nb, r) =>
      `ACL: ${col(nb, r, "direction")}, priority=${col(nb, r, "priority")}, ` +
      `match=(${stripQuotes(col(nb, r, "match"))}), ${col(nb, r, "action")}` +
      (atomsOf(r, "log")[0] === true ? " (log)" : ""),
  },
  {
    table: "DHCP_Options",
    format: (nb, r) => `DHCP Options: cidr ${col(nb, r, "cidr")} options (${col(nb, r, "options")})`,
  },
  {
    table: "Forwarding_Group",
    format: (nb, r) =>
      `Forwarding Group: name ${col(nb, r, "name")} vip ${col(nb, r, "vip")} vmac ${col(nb, r, "vmac")} ` +
      `liveness ${col(nb, r, "liveness")} child ports (${col(nb, r, "child_port")})`,
  },
  {
    table: "Logical_Switch_Port",
    // sic: the script never closes the parenthesis
    format: (nb, r) =>
      `Logical Switch Port: ${col(nb, r, "name")} type ${col(nb, r, "type")} (addresses ` +
      `${col(nb, r, "addresses")}, dynamic addresses ${col(nb, r, "dynamic_addresses")}, ` +
      `security ${col(nb, r, "port_security")}`,
  },
  {
    table: "Logical_Router_Port",
    format: (nb, r) =>
      `Logical Router Port: ${col(nb, r, "name")} mac ${col(nb, r, "mac")} networks ` +
      `${col(nb, r, "networks")} ipv6_ra_configs ${col(nb, r, "ipv6_ra_configs")}`,
  },
  {
    table: "Logical_Router_Policy",
    format: (nb, r) =>
      `Logical Router Policy: priority ${col(nb, r, "priority")} match ${col(nb, r, "match")} ` +
      `action ${col(nb, r, "action")} nexthop ${col(nb, r, "nexthop")}`,
  },
  {
    table: "Load_Balancer",
    format: (nb, r) =>
      `Load Balancer: ${col(nb, r, "name")} protocol ${col(nb, r, "protocol")} vips ` +
      `${col(nb, r, "vips")} ip_port_mappings ${col(nb, r, "ip_port_mappings")}`,
  },
  {
    table: "NAT",
    format: (nb, r) =>
      `NAT: external IP ${col(nb, r, "external_ip")} external_mac ${col(nb, r, "external_mac")} ` +
      `logical_ip ${col(nb, r, "logical_ip")} logical_port ${col(nb, r, "logical_port")} ` +
      `type ${col(nb, r, "type")}`,
  },
  {
    table: "Logical_Router_Static_Route",
    format: (nb, r) =>
      `Route: ${col(nb, r, "ip_prefix")} via ${col(nb, r, "nexthop")} (port ${col(nb, r, "output_port")}), ` +
      `policy=${col(nb, r, "policy")}`,
  },
  {
    table: "QoS",
    format: (nb, r) =>
      `QoS: priority ${col(nb, r, "priority")} direction ${col(nb, r, "direction")} match ` +
      `${col(nb, r, "match")} action ${col(nb, r, "action")} bandwidth ${col(nb, r, "bandwidth")}`,
  },
];

function printLogicalFlow(dbs: DetraceDatabases, lflow: OvsdbRow, out: Emit): void {
  const { sb, nb } = dbs;
  primary(out, "Logical datapaths:");
  const datapaths: OvsdbAtom[] = [...atomsOf(lflow, "logical_datapath")].filter(
    (u) => rowByUuid(sb, "Datapath_Binding", u) !== undefined,
  );
  const group = refs(sb, lflow, "logical_dp_group", "Logical_DP_Group")[0];
  if (group !== undefined)
    datapaths.push(...refs(sb, group, "datapaths", "Datapath_Binding").map((r) => r.uuid));
  const pipeline = scalar(lflow, "pipeline");
  for (const dp of datapaths) primary(out, `    ${datapathStr(sb, dp)} [${pipeline}]`);
  primary(
    out,
    `Logical flow: table=${scalar(lflow, "table_id")} (${externalId(lflow, "stage-name")}), ` +
      `priority=${scalar(lflow, "priority")}, match=(${stripQuotes(scalar(lflow, "match"))}), ` +
      `actions=(${stripQuotes(scalar(lflow, "actions"))})`,
  );
  const stageHint = externalId(lflow, "stage-hint");
  if (stageHint === "None" || stageHint === "") return;
  for (const h of HINT_TABLES) {
    rowsByZfilledPrefix(nb, h.table, stageHint).forEach((row, i) => {
      if (i > 0) hint(out, "[Duplicate uuid hint]");
      hint(out, h.format(nb, row));
    });
  }
}

/** How the script prints a row of each SB table a cookie is looked up in. */
const COOKIE_PRINTERS: Readonly<
  Record<CookieTable, (dbs: DetraceDatabases, row: OvsdbRow, out: Emit) => void>
> = {
  Logical_Flow: printLogicalFlow,
  Port_Binding: ({ sb }, pb, out) => {
    primary(out, `Logical datapath: ${datapathStr(sb, atomsOf(pb, "datapath")[0])}`);
    const chassis = refs(sb, pb, "chassis", "Chassis")[0];
    primary(
      out,
      `Port Binding: logical_port "${scalar(pb, "logical_port")}", tunnel_key ` +
        `${scalar(pb, "tunnel_key")}, ${chassisStr(chassis)}`,
    );
  },
  MAC_Binding: ({ sb }, mb, out) => {
    primary(out, `Logical datapath: ${datapathStr(sb, atomsOf(mb, "datapath")[0])}`);
    primary(
      out,
      `MAC Binding: ip "${scalar(mb, "ip")}", logical_port "${scalar(mb, "logical_port")}", ` +
        `mac "${scalar(mb, "mac")}"`,
    );
  },
  Multicast_Group: ({ sb }, mc, out) => {
    const ports = refs(sb, mc, "ports", "Port_Binding").map((pb) => scalar(pb, "logical_port"));
    primary(out, `Logical datapath: ${datapathStr(sb, atomsOf(mc, "datapath")[0])}`);
    primary(
      out,
      `Multicast Group: name "${scalar(mc, "name")}", tunnel_key ${scalar(mc, "tunnel_key")} ` +
        `ports: (${ports.join(", ")})`,
    );
  },
  Chassis: (_dbs, chassis, out) => {
    primary(out, `Chassis: ${chassisStr(chassis)}`);
  },
  Load_Balancer: ({ sb }, lb, out) => {
    primary(
      out,
      `Load Balancer: ${pyColumn(sb, lb, "name")} protocol ${pyColumn(sb, lb, "protocol")} vips ` +
        pyColumn(sb, lb, "vips"),
    );
  },
};

function printCookie(dbs: DetraceDatabases, cookie: string, out: Emit): void {
  for (const table of COOKIE_TABLES) {
    rowsByZfilledPrefix(dbs.sb, table, cookie).forEach((row, i) => {
      if (i > 0) hint(out, "[Duplicate uuid cookie]");
      COOKIE_PRINTERS[table](dbs, row, out);
    });
  }
}

// --- OVS interfaces (--ovs) --------------------------------------------------------------------------

const interfaceCache = new WeakMap<OvsdbDatabase, ReadonlyMap<number, OvsdbRow>>();

/** The integration bridge's interfaces by ofport; the later one wins a shared ofport, as in the script's dict. */
function interfacesByOfport(ovs: OvsdbDatabase): ReadonlyMap<number, OvsdbRow> {
  const cached = interfaceCache.get(ovs);
  if (cached !== undefined) return cached;
  const root = tableRows(ovs, "Open_vSwitch")[0];
  const brName = root === undefined ? "None" : externalId(root, "ovn-bridge");
  const wanted = brName === "None" ? "br-int" : brName;
  const bridge = tableRows(ovs, "Bridge").find((b) => scalar(b, "name") === wanted);
  const byOfport = new Map<number, OvsdbRow>();
  for (const port of bridge === undefined ? [] : refs(ovs, bridge, "ports", "Port")) {
    for (const intf of refs(ovs, port, "interfaces", "Interface")) {
      const ofport = atomsOf(intf, "ofport")[0];
      if (typeof ofport === "number") byOfport.set(ofport, intf);
    }
  }
  interfaceCache.set(ovs, byOfport);
  return byOfport;
}

function printOfport(ovs: OvsdbDatabase, ofport: string, out: Emit): void {
  const intf = interfacesByOfport(ovs).get(Number.parseInt(ofport, 10));
  if (intf !== undefined)
    primary(out, `OVS Interface: ${scalar(intf, "name")} (${externalId(intf, "iface-id")})`);
}

// --- the main loop ----------------------------------------------------------------------------------

type Pending = (out: Emit) => void;

function pendingOf(dbs: DetraceDatabases, line: string): Pending[] {
  const found: Pending[] = [];
  const cookie = COOKIE.exec(line)?.[1];
  if (cookie !== undefined)
    found.push((out) => {
      printCookie(dbs, cookie, out);
    });
  const ovs = dbs.ovs;
  if (ovs !== undefined) {
    for (const re of [OUTPUT_PORT, INPUT_PORT]) {
      const port = re.exec(line)?.[1];
      if (port !== undefined)
        found.push((out) => {
          printOfport(ovs, port, out);
        });
    }
  }
  return found;
}

/**
 * ovn-detrace's annotation lines, keyed by the index of the input line they are printed before (the number of
 * lines for those printed after the last one): each flow block's annotations come before the line that
 * starts the next block.
 */
export function detraceAnnotations(traceText: string, dbs: DetraceDatabases): Map<number, string[]> {
  const lines = readLines(traceText);
  const at = new Map<number, string[]>();
  let pending: Pending[] = [];
  const flush = (before: number) => {
    const out: string[] = [];
    for (const p of pending) p((l) => out.push(l));
    pending = [];
    if (out.length > 0) at.set(before, out);
  };
  lines.forEach((line, i) => {
    if (pending.length > 0 && (TABLE_ID.test(line) || pyStrip(line) === "")) flush(i);
    pending.push(...pendingOf(dbs, line));
  });
  flush(lines.length);
  return at;
}

/** The input lines as the script reads them (universal newlines). */
export function traceLines(traceText: string): string[] {
  return readLines(traceText);
}

/**
 * ovn-detrace's output for an ofproto/trace output: the same lines (trimmed), each flow block followed by
 * what its cookies point at, and the script's final empty line.
 */
export function detrace(traceText: string, dbs: DetraceDatabases): string {
  const lines = readLines(traceText);
  const at = detraceAnnotations(traceText, dbs);
  const out: string[] = [];
  lines.forEach((line, i) => {
    out.push(...(at.get(i) ?? []), pyStrip(line));
  });
  out.push(...(at.get(lines.length) ?? []), "");
  return `${out.join("\n")}\n`;
}
