import type { Elision } from "../model/openflow.js";
import type {
  SbChassis,
  SbctlShowDocument,
  SbEncap,
  SbPortBinding,
  ShowProperty,
} from "../model/ovn-show.js";
import { headLines, isElisionLine, locate, readLines, splitTopLevelCommas } from "./text.js";
import { ParseError } from "../errors.js";

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** `Chassis "fe4e7b3c-..."`, `Encap geneve`, `Port_Binding rtoj-GR_ovn-worker2`: a row and its name. */
const ROW_RE = /^(Chassis|Encap|Port_Binding) (.+)$/;
/** `hostname: ovn-worker`, `ip: "172.18.0.2"`, `options: {csum="true"}`. */
const COLUMN_RE = /^([A-Za-z_][\w]*): (.*)$/;

type ChassisDraft = Mutable<SbChassis> & {
  encaps: EncapDraft[];
  portBindings: SbPortBinding[];
  columns: ShowProperty[];
};
type EncapDraft = Mutable<SbEncap> & { columns: ShowProperty[] };

/**
 * An OVSDB atom as `ovsdb_atom_to_string` prints it: a string that needs quotes is a JSON string
 * (`"172.18.0.2"`), any other atom is printed bare. Returns undefined for a malformed quoted string.
 */
export function ovsdbAtom(text: string): string | undefined {
  if (!text.startsWith('"')) return text;
  try {
    const value: unknown = JSON.parse(text);
    return typeof value === "string" ? value : undefined;
  } catch {
    return undefined;
  }
}

/** `{csum="true", dst_port="6081"}` → {csum: "true", dst_port: "6081"}; undefined when malformed. */
export function ovsdbMap(text: string): Record<string, string> | undefined {
  if (!text.startsWith("{") || !text.endsWith("}")) return undefined;
  const map: [string, string][] = [];
  const { parts, balanced } = splitTopLevelCommas(text.slice(1, -1));
  if (!balanced) return undefined;
  for (const part of parts) {
    const item = part.trim();
    // A key is an atom: bare, or a JSON string (which may hold "=").
    const keyEnd = item.startsWith('"') ? closingQuote(item) + 1 : item.indexOf("=");
    if (keyEnd <= 0 || item.charAt(keyEnd) !== "=") return undefined;
    const key = ovsdbAtom(item.slice(0, keyEnd));
    const value = ovsdbAtom(item.slice(keyEnd + 1));
    if (key === undefined || value === undefined) return undefined;
    map.push([key, value]);
  }
  // fromEntries: a key such as `__proto__` stays a plain property.
  return Object.fromEntries(map);
}

/** Index of the `"` closing the JSON string that starts at 0; -1 when it is not closed. */
function closingQuote(text: string): number {
  for (let i = 1; i < text.length; i++) {
    if (text.charAt(i) === "\\") i++;
    else if (text.charAt(i) === '"') return i;
  }
  return -1;
}

function indentOf(raw: string): number {
  return raw.length - raw.trimStart().length;
}

/**
 * Parses `ovn-sbctl show` (OVN 2.x–24.x): the generic OVSDB `show` tree of Chassis rows, each with its
 * columns, its Encap rows (with their columns) and the Port_Binding rows bound to it.
 */
export function parseSbctlShow(text: string): SbctlShowDocument {
  const chassis: ChassisDraft[] = [];
  const elisions: Elision[] = [];
  let current: ChassisDraft | null = null;
  let encap: EncapDraft | null = null;
  return readLines(text, {
    what: "ovn-sbctl show output",
    missing: "no Chassis line",
    read(trimmed, source) {
      if (isElisionLine(trimmed)) {
        elisions.push({ kind: "elision", source });
        current = null;
        encap = null;
        return true;
      }
      const row = ROW_RE.exec(trimmed);
      if (row !== null) {
        const table = row[1] ?? "";
        const name = ovsdbAtom(row[2] ?? "");
        if (name === undefined) throw new ParseError(`malformed ${table} name`, locate(source));
        if (table === "Chassis") {
          current = {
            kind: "chassis",
            source,
            name,
            hostname: null,
            encaps: [],
            portBindings: [],
            columns: [],
          };
          chassis.push(current);
          encap = null;
          return true;
        }
        if (current === null) return false;
        if (table === "Encap") {
          encap = { kind: "encap", source, type: name, ip: null, options: {}, columns: [] };
          current.encaps.push(encap);
        } else {
          current.portBindings.push({ kind: "port-binding", source, logicalPort: name });
          encap = null;
        }
        return true;
      }
      const column = COLUMN_RE.exec(trimmed);
      if (column === null || current === null) return false;
      const property: ShowProperty = { source, key: column[1] ?? "", value: column[2] ?? "" };
      // A column belongs to the Encap above when it is indented deeper (or the indentation was lost).
      const toEncap =
        encap !== null &&
        (indentOf(source.text) > indentOf(encap.source.text) ||
          indentOf(source.text) === indentOf(current.source.text));
      if (encap !== null && toEncap) addEncapColumn(encap, property);
      else addChassisColumn(current, property);
      return true;
    },
    recognized: () => chassis.length > 0,
    finish: (lines) => ({ kind: "ovn-sbctl-show", chassis, elisions, ...lines }),
  });
}

function addEncapColumn(encap: EncapDraft, property: ShowProperty): void {
  encap.columns.push(property);
  if (property.key === "ip") encap.ip = ovsdbAtom(property.value) ?? null;
  else if (property.key === "options") encap.options = ovsdbMap(property.value) ?? {};
}

function addChassisColumn(chassis: ChassisDraft, property: ShowProperty): void {
  chassis.columns.push(property);
  if (property.key === "hostname") chassis.hostname = ovsdbAtom(property.value) ?? null;
}

/** Cheap sniffer: a `Chassis NAME` line and an `Encap`/`Port_Binding`/`hostname:` line among the first 50 lines. */
export function looksLikeSbctlShow(text: string): boolean {
  const lines = headLines(text, 50).map((raw) => raw.trim());
  return (
    lines.some((t) => /^Chassis \S/.test(t)) &&
    lines.some((t) => /^(?:Encap \S|Port_Binding \S|hostname: )/.test(t))
  );
}
