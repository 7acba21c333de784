/**
 * Kubernetes objects from files: `kubectl get ... -o json|yaml` outputs (any file names, nested
 * directories, List objects, single objects, several YAML documents or concatenated JSON values in one
 * file), or an OpenShift must-gather tree as `oc adm inspect` writes it:
 *
 *   namespaces/<ns>/<ns>.yaml                                   the Namespace
 *   namespaces/<ns>/core/pods.yaml, services.yaml, endpoints.yaml   lists (kind PodList...)
 *   namespaces/<ns>/discovery.k8s.io/endpointslices.yaml
 *   namespaces/<ns>/networking.k8s.io/networkpolicies.yaml      (when the gather asked for them)
 *   namespaces/<ns>/pods/<pod>/<pod>.yaml                       each pod again, next to its logs
 *   namespaces/<ns>/<group>/<resource>/<name>.yaml              single namespaced objects
 *   cluster-scoped-resources/core/nodes/<node>.yaml             one file per node
 *   cluster-scoped-resources/<group>/<resource>.yaml            cluster-scoped lists
 *
 * (openshift/oc pkg/cli/admin/inspect: dirPathForInfo/filenameForInfo name `<group or core>/<resource>.yaml`
 * for lists and `<group>/<resource>/<name>.yaml` for single objects; namespace.go collects the "all"
 * category plus endpoints and endpointslices, and writes `<ns>.yaml`; the must-gather root is usually one
 * directory per gather image below the directory `oc adm must-gather` creates.) Only the kinds the tracer
 * reads are kept; the same object found twice (a must-gather holds pods twice) is kept once.
 */
import { closeSync, lstatSync, openSync, readdirSync, readFileSync, readSync, statSync } from "node:fs";
import { basename, extname, join, relative, sep } from "node:path";
import { parseAllDocuments } from "yaml";
import type { KubeObject } from "../cluster/kube-objects.js";
import { InputError } from "../errors.js";

export type KubernetesDirSource = "kubectl" | "must-gather";

export interface KubernetesDir {
  readonly items: KubeObject[];
  readonly source: KubernetesDirSource;
  /** One line per file (or object) that could not be used, naming it. */
  readonly problems: string[];
}

/** The kinds the tracer reads, by the resource name a must-gather files them under. */
const KINDS_BY_RESOURCE: Readonly<Record<string, string>> = {
  pods: "Pod",
  nodes: "Node",
  namespaces: "Namespace",
  services: "Service",
  endpointslices: "EndpointSlice",
  networkpolicies: "NetworkPolicy",
  adminnetworkpolicies: "AdminNetworkPolicy",
  baselineadminnetworkpolicies: "BaselineAdminNetworkPolicy",
};
const KINDS = new Set(Object.values(KINDS_BY_RESOURCE));

const SKIPPED_EXTENSIONS = new Set([
  ".log",
  ".gz",
  ".tgz",
  ".tar",
  ".zip",
  ".xz",
  ".bz2",
  ".zst",
  ".html",
  ".db",
  ".pcap",
]);
const OBJECT_EXTENSIONS = new Set([".json", ".yaml", ".yml"]);
const MAX_FILE_BYTES = 1024 * 1024 * 1024;
const SNIFF_BYTES = 4096;

interface FoundFile {
  readonly abs: string;
  readonly rel: string;
}

function walk(root: string, problems: string[]): FoundFile[] {
  const out: FoundFile[] = [];
  const visit = (dir: string): void => {
    let names: string[];
    try {
      names = readdirSync(dir).sort();
    } catch (e) {
      problems.push(`${relative(root, dir) || "."}: cannot list: ${(e as Error).message}`);
      return;
    }
    for (const name of names) {
      const abs = join(dir, name);
      let st;
      try {
        st = lstatSync(abs);
        // a symlinked file is read; a symlinked directory is not followed (no loops)
        if (st.isSymbolicLink()) st = statSync(abs).isFile() ? statSync(abs) : undefined;
      } catch {
        st = undefined;
      }
      if (st?.isDirectory() === true) visit(abs);
      else if (st?.isFile() === true) out.push({ abs, rel: relative(root, abs) });
    }
  };
  visit(root);
  return out;
}

/**
 * The resource a must-gather path files objects of (`pods`, `nodes`...), when the path has the
 * must-gather shape; undefined for any other path (which is then read like a kubectl dump).
 */
export function mustGatherResource(rel: string): string | undefined {
  const segs = rel.split(sep).join("/").split("/");
  const at = Math.max(segs.lastIndexOf("namespaces"), segs.lastIndexOf("cluster-scoped-resources"));
  if (at < 0) return undefined;
  const rest = segs.slice(at + 1);
  const file = rest[rest.length - 1] ?? "";
  if (!/\.ya?ml$/.test(file)) return undefined;
  const stem = file.replace(/\.ya?ml$/, "");
  if (segs[at] === "cluster-scoped-resources") {
    // <group>/<resource>.yaml or <group>/<resource>/<name>.yaml
    if (rest.length === 2) return stem;
    if (rest.length === 3) return rest[1];
    return undefined;
  }
  // <ns>/<ns>.yaml, <ns>/pods/<pod>/<pod>.yaml, <ns>/<group>/<resource>.yaml, <ns>/<group>/<resource>/<name>.yaml
  if (rest.length === 2 && stem === rest[0]) return "namespaces";
  if (rest.length === 4 && rest[1] === "pods" && stem === rest[2]) return "pods";
  if (rest.length === 3) return stem;
  if (rest.length === 4) return rest[2];
  return undefined;
}

const isMustGatherPath = (rel: string): boolean => {
  const segs = rel.split(sep);
  return segs.includes("cluster-scoped-resources") || mustGatherResource(rel) !== undefined;
};

function sniff(abs: string): Buffer {
  const fd = openSync(abs, "r");
  try {
    const buf = Buffer.alloc(SNIFF_BYTES);
    const n = readSync(fd, buf, 0, SNIFF_BYTES, 0);
    return buf.subarray(0, n);
  } finally {
    closeSync(fd);
  }
}

/** True for text that starts like a JSON value or a YAML Kubernetes object. */
function looksLikeObjects(head: Buffer): boolean {
  if (head.includes(0)) return false;
  const text = head.toString("utf8").replace(/^\uFEFF/, "");
  const start = text.trimStart();
  if (start.startsWith("{") || start.startsWith("[")) return true;
  return /^(apiVersion|kind|items|metadata):/m.test(text);
}

/** Every top-level value of a text holding one JSON value or several written one after another. */
function parseJsonValues(text: string): unknown[] {
  try {
    return [JSON.parse(text)];
  } catch (whole) {
    const values: unknown[] = [];
    let depth = 0;
    let inString = false;
    let start = -1;
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (inString) {
        if (c === "\\") i++;
        else if (c === '"') inString = false;
        continue;
      }
      if (c === '"') inString = true;
      else if (c === "{" || c === "[") {
        if (depth === 0) start = i;
        depth++;
      } else if (c === "}" || c === "]") {
        depth--;
        if (depth === 0 && start >= 0) {
          values.push(JSON.parse(text.slice(start, i + 1)));
          start = -1;
        }
      } else if (depth === 0 && c !== undefined && !/\s/.test(c)) throw whole;
    }
    if (depth !== 0 || values.length === 0) throw whole;
    return values;
  }
}

function parseYamlValues(text: string): unknown[] {
  const values: unknown[] = [];
  for (const doc of parseAllDocuments(text)) {
    const err = doc.errors[0];
    if (err !== undefined) {
      const line = err.linePos?.[0].line;
      const what = (err.message.split("\n")[0] ?? "").replace(/ at line \d+, column \d+:?$/, "");
      throw new Error(`${line === undefined ? "" : `line ${line}: `}${what}`);
    }
    const v: unknown = doc.toJS();
    if (v !== null && v !== undefined) values.push(v);
  }
  return values;
}

function parseObjects(text: string): unknown[] {
  const start = text.replace(/^\uFEFF/, "").trimStart();
  if (start.startsWith("{") || start.startsWith("[")) {
    try {
      return parseJsonValues(start);
    } catch (e) {
      // a YAML file may start with a flow mapping; JSON's message is the useful one otherwise
      try {
        return parseYamlValues(text);
      } catch {
        throw e;
      }
    }
  }
  return parseYamlValues(text);
}

type Loose = Record<string, unknown>;
const isObject = (v: unknown): v is Loose => typeof v === "object" && v !== null && !Array.isArray(v);

/**
 * The objects of a parsed value: a List (kind "List", "PodList"...) gives its items, whose missing
 * kind and apiVersion come from the list, as the API server leaves them out of typed lists.
 */
function flatten(
  v: unknown,
  at: string,
  problem: (text: string) => void,
  inherited?: { kind?: string; apiVersion?: string },
): Loose[] {
  const here = (p: string): string => (at === "" ? p : `${at}, ${p}`);
  if (Array.isArray(v)) return v.flatMap((x, i) => flatten(x, here(`[${i}]`), problem, inherited));
  if (!isObject(v)) return [];
  const kind = typeof v.kind === "string" ? v.kind : inherited?.kind;
  const apiVersion = typeof v.apiVersion === "string" ? v.apiVersion : inherited?.apiVersion;
  if (Array.isArray(v.items) && (kind === undefined || kind.endsWith("List"))) {
    const itemKind = kind === undefined || kind === "List" ? undefined : kind.slice(0, -"List".length);
    return v.items.flatMap((x, i) =>
      flatten(x, here(`item ${i}`), problem, {
        ...(itemKind === undefined ? {} : { kind: itemKind }),
        ...(apiVersion === undefined || itemKind === undefined ? {} : { apiVersion }),
      }),
    );
  }
  if (kind === undefined) {
    problem(`${at === "" ? "" : `${at}: `}an object without a kind`);
    return [];
  }
  return [{ ...v, kind, ...(apiVersion === undefined ? {} : { apiVersion }) }];
}

const keyOf = (o: Loose): string | undefined => {
  const m = o.metadata;
  if (!isObject(m) || typeof m.name !== "string" || m.name === "") return undefined;
  const ns = typeof m.namespace === "string" ? m.namespace : "";
  return `${String(o.kind)}/${ns}/${m.name}`;
};

const resourceVersion = (o: Loose): number => {
  const m = o.metadata;
  const rv = isObject(m) ? m.resourceVersion : undefined;
  return typeof rv === "string" && /^\d+$/.test(rv) ? Number(rv) : -1;
};

/**
 * Reads the Kubernetes objects of a directory of kubectl dumps or of a must-gather tree (or of one
 * file). Files that cannot be read or parsed are problems naming them; only a directory with nothing
 * usable is an error.
 */
export function readKubernetesDir(dir: string): KubernetesDir {
  let st;
  try {
    st = statSync(dir);
  } catch {
    throw new InputError(`${dir}: no such file or directory`, {
      hint: "give the directory holding the `kubectl get ... -o json` outputs or the must-gather",
    });
  }
  const problems: string[] = [];
  const files = st.isDirectory() ? walk(dir, problems) : [{ abs: dir, rel: basename(dir) }];
  const mustGather = files.some((f) => isMustGatherPath(f.rel));
  const byKey = new Map<string, Loose>();
  let filesRead = 0;
  let objectsSeen = 0;

  for (const f of files) {
    const ext = extname(f.rel).toLowerCase();
    if (SKIPPED_EXTENSIONS.has(ext)) continue;
    const resource = mustGather ? mustGatherResource(f.rel) : undefined;
    if (resource !== undefined && KINDS_BY_RESOURCE[resource] === undefined) continue;
    let text: string;
    try {
      if (!OBJECT_EXTENSIONS.has(ext) && !looksLikeObjects(sniff(f.abs))) continue;
      if (statSync(f.abs).size > MAX_FILE_BYTES) {
        problems.push(`${f.rel}: larger than ${MAX_FILE_BYTES} bytes, skipped`);
        continue;
      }
      text = readFileSync(f.abs, "utf8");
    } catch (e) {
      problems.push(`${f.rel}: cannot read: ${(e as Error).message}`);
      continue;
    }
    if (text.trim() === "") continue;
    let values: unknown[];
    try {
      values = parseObjects(text);
    } catch (e) {
      problems.push(`${f.rel}: not JSON or YAML: ${(e as Error).message}`);
      continue;
    }
    filesRead++;
    const problem = (text: string): void => {
      problems.push(`${f.rel}: ${text}`);
    };
    const objects = values.flatMap((v, i) =>
      flatten(v, values.length > 1 ? `document ${i + 1}` : "", problem),
    );
    for (const o of objects) {
      objectsSeen++;
      if (!KINDS.has(String(o.kind))) continue;
      const key = keyOf(o);
      if (key === undefined) {
        problems.push(`${f.rel}: a ${String(o.kind)} without metadata.name`);
        continue;
      }
      const seen = byKey.get(key);
      if (seen === undefined || resourceVersion(o) > resourceVersion(seen)) byKey.set(key, o);
    }
  }

  if (byKey.size === 0) {
    const why =
      filesRead === 0
        ? "no JSON or YAML file"
        : `${objectsSeen} object(s) read, none a usable Node, Namespace, Pod, Service, EndpointSlice or NetworkPolicy`;
    const bad =
      problems.length === 0 ? "" : `; ${problems.length} problem(s): ${problems.slice(0, 3).join("; ")}`;
    throw new InputError(`${dir}: no Kubernetes objects the tracer can use (${why}${bad})`, {
      hint:
        "dump them with: kubectl get nodes,namespaces,pods,services,endpointslices,networkpolicies -A -o json > k8s.json " +
        "(or give a must-gather directory, which holds namespaces/ and cluster-scoped-resources/)",
    });
  }
  return {
    items: [...byKey.values()] as KubeObject[],
    source: mustGather ? "must-gather" : "kubectl",
    problems,
  };
}
