import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { stringify } from "yaml";
import type { KubeObject } from "../../src/cluster/kube-objects.js";
import { InputError } from "../../src/errors.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { kubernetesObjects } from "../../src/lab/kubernetes.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { mustGatherResource, readKubernetesDir } from "../../src/snapshot/kubernetes-files.js";

/**
 * Ground truth: the objects a lab writes to its kubernetes.json (kubernetesObjects is what `lab up`
 * writes there), for the dual-stack kind scenario.
 */
const truth = (
  kubernetesObjects(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`)) as { items: KubeObject[] }
).items;

const root = mkdtempSync(join(tmpdir(), "otl-k8s-files-"));
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});
let n = 0;
const newDir = (): string => {
  const d = join(root, `d${n++}`);
  mkdirSync(d, { recursive: true });
  return d;
};
const put = (dir: string, rel: string, content: string | Buffer): void => {
  mkdirSync(dirname(join(dir, rel)), { recursive: true });
  writeFileSync(join(dir, rel), content);
};

const key = (o: KubeObject): string =>
  `${o.kind ?? ""}/${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`;
const byKey = (items: readonly KubeObject[]): Map<string, KubeObject> =>
  new Map(items.map((o) => [key(o), o]));
const ofKind = (kind: string): KubeObject[] => truth.filter((o) => o.kind === kind);
const namespaced = (kind: string, ns: string): KubeObject[] =>
  ofKind(kind).filter((o) => o.metadata?.namespace === ns);
const list = (items: readonly unknown[]) => ({ apiVersion: "v1", kind: "List", metadata: {}, items });
/** A typed list as the API server serves it: items without kind and apiVersion. */
const typedList = (kind: string, apiVersion: string, items: readonly KubeObject[]) => ({
  apiVersion,
  kind: `${kind}List`,
  metadata: { resourceVersion: "1" },
  items: items.map((o) => {
    const bare: Record<string, unknown> = { ...o };
    delete bare.kind;
    delete bare.apiVersion;
    return bare;
  }),
});

function expectAllOfTruth(items: readonly KubeObject[]): void {
  const got = byKey(items);
  expect([...got.keys()].sort()).toEqual([...byKey(truth).keys()].sort());
  for (const o of truth) expect(got.get(key(o)), key(o)).toEqual(o);
}

describe("readKubernetesDir: kubectl dumps", () => {
  it("reads List files of any name, nested dirs, YAML documents, single objects and JSON streams", () => {
    const dir = newDir();
    const [firstNode, ...otherNodes] = ofKind("Node");
    put(dir, "pods.out", JSON.stringify(list(ofKind("Pod")), null, 2));
    put(dir, "svc", JSON.stringify(list(ofKind("Service"))));
    put(dir, "nested/deeper/eps.json", JSON.stringify(list(ofKind("EndpointSlice"))));
    // kubectl get -o yaml of several objects, written as separate documents
    put(
      dir,
      "nested/policies.yaml",
      ofKind("NetworkPolicy")
        .map((o) => stringify(o))
        .join("---\n"),
    );
    put(dir, "ns.yml", stringify(list(ofKind("Namespace"))));
    put(dir, "one-node.json", JSON.stringify(firstNode));
    // `for n in ...; do kubectl get node $n -o json; done > nodes.txt`
    put(dir, "nodes.txt", otherNodes.map((o) => JSON.stringify(o, null, 2)).join("\n"));
    put(dir, "README", "how these files were made: kubectl get ... -o json\n");
    const r = readKubernetesDir(dir);
    expect(r.source).toBe("kubectl");
    expect(r.problems).toEqual([]);
    expectAllOfTruth(r.items);
  });

  it("gives the items of a typed list (PodList...) the kind and apiVersion the API server leaves out", () => {
    const dir = newDir();
    put(dir, "pods.json", JSON.stringify(typedList("Pod", "v1", ofKind("Pod"))));
    put(
      dir,
      "slices.json",
      JSON.stringify(typedList("EndpointSlice", "discovery.k8s.io/v1", ofKind("EndpointSlice"))),
    );
    const r = readKubernetesDir(dir);
    expect(r.problems).toEqual([]);
    const got = byKey(r.items);
    for (const o of [...ofKind("Pod"), ...ofKind("EndpointSlice")])
      expect(got.get(key(o)), key(o)).toEqual(o);
    expect(r.items.length).toBe(ofKind("Pod").length + ofKind("EndpointSlice").length);
  });

  it("keeps only the kinds the tracer reads, and one copy of an object (the newest)", () => {
    const dir = newDir();
    const web = ofKind("Pod").find((p) => p.metadata?.name === "web") ?? {};
    const newer = { ...web, metadata: { ...web.metadata, resourceVersion: "7", labels: { app: "moved" } } };
    put(
      dir,
      "mixed.json",
      JSON.stringify(
        list([
          web,
          { apiVersion: "v1", kind: "ConfigMap", metadata: { name: "cm", namespace: "default" }, data: {} },
          { apiVersion: "apps/v1", kind: "Deployment", metadata: { name: "d", namespace: "default" } },
        ]),
      ),
    );
    put(dir, "later.json", JSON.stringify(newer));
    put(dir, "again.json", JSON.stringify(web));
    const r = readKubernetesDir(dir);
    expect(r.items).toEqual([newer]);
  });

  it("names every bad file in a problem line and still reads the good ones", () => {
    const dir = newDir();
    put(dir, "good.json", JSON.stringify(list(ofKind("Node"))));
    put(dir, "broken.yaml", "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n");
    put(dir, "truncated.json", JSON.stringify(list(ofKind("Pod"))).slice(0, 500));
    put(dir, "sub/noname.json", JSON.stringify({ apiVersion: "v1", kind: "Pod", metadata: {} }));
    put(
      dir,
      "nokind.json",
      JSON.stringify({ apiVersion: "v1", kind: "List", items: [{ metadata: { name: "x" } }] }),
    );
    const r = readKubernetesDir(dir);
    expectKinds(r.items, { Node: ofKind("Node").length });
    const files = ["broken.yaml", "truncated.json", join("sub", "noname.json"), "nokind.json"];
    for (const f of files)
      expect(
        r.problems.some((p) => p.startsWith(`${f}:`)),
        f,
      ).toBe(true);
    expect(r.problems.length).toBe(files.length);
    expect(r.problems.find((p) => p.startsWith("broken.yaml"))).toMatch(/line \d+/);
  });

  it("reads one file given instead of a directory", () => {
    const dir = newDir();
    put(dir, "all.json", JSON.stringify(list(truth)));
    const r = readKubernetesDir(join(dir, "all.json"));
    expectAllOfTruth(r.items);
  });

  it("is an InputError with a hint for an empty directory, one with nothing usable, and a missing one", () => {
    const empty = newDir();
    const useless = newDir();
    put(useless, "notes.txt", "nothing here\n");
    put(
      useless,
      "cm.json",
      JSON.stringify(list([{ apiVersion: "v1", kind: "ConfigMap", metadata: { name: "a" } }])),
    );
    put(useless, "bad.yaml", "{{{");
    for (const d of [empty, useless, join(root, "missing")]) {
      let err: unknown;
      try {
        readKubernetesDir(d);
      } catch (e) {
        err = e;
      }
      expect(err, d).toBeInstanceOf(InputError);
      expect((err as InputError).hint, d).toMatch(/kubectl get/);
    }
    expect(() => readKubernetesDir(useless)).toThrow(/1 object.*none a usable Node.*bad\.yaml/);
  });
});

function expectKinds(items: readonly KubeObject[], counts: Record<string, number>): void {
  const got: Record<string, number> = {};
  for (const o of items) got[o.kind ?? ""] = (got[o.kind ?? ""] ?? 0) + 1;
  expect(got).toEqual(counts);
}

/**
 * A must-gather tree as `oc adm inspect` writes it (openshift/oc pkg/cli/admin/inspect): lists per
 * namespace and group, each pod again under pods/<pod>/, nodes one file each, the namespace as <ns>.yaml,
 * below the per-image directory `oc adm must-gather` creates, with the logs and archives around them.
 */
function mustGatherTree(dir: string): void {
  const base = "must-gather.local.5219/quay-io-openshift-release-dev-ocp-v4-0-art-dev-sha256-0a1b2c";
  const at = (rel: string, content: string | Buffer): void => {
    put(dir, `${base}/${rel}`, content);
  };
  at("version", "openshift/must-gather\n4.16.0\n");
  at("timestamp", "2026-01-01 00:00:00\n");
  at("event-filter.html", "<html></html>\n");
  at("network_logs/ovnk_database_store.tar.gz", Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3]));
  at("network_logs/ovn_kubernetes_top_pods", "POD NAME CPU(cores) MEMORY(bytes)\n");
  for (const node of ofKind("Node"))
    at(`cluster-scoped-resources/core/nodes/${node.metadata?.name ?? ""}.yaml`, stringify(node));
  for (const ns of ofKind("Namespace")) {
    const name = ns.metadata?.name ?? "";
    at(`namespaces/${name}/${name}.yaml`, stringify(ns));
    const pods = namespaced("Pod", name);
    // one namespace as the dynamic client writes lists (kind on items), the others as typed lists
    at(
      `namespaces/${name}/core/pods.yaml`,
      stringify(
        name === "default"
          ? { apiVersion: "v1", kind: "PodList", items: pods }
          : typedList("Pod", "v1", pods),
      ),
    );
    at(
      `namespaces/${name}/core/services.yaml`,
      stringify(typedList("Service", "v1", namespaced("Service", name))),
    );
    at(
      `namespaces/${name}/core/endpoints.yaml`,
      stringify({ apiVersion: "v1", kind: "EndpointsList", items: [] }),
    );
    at(
      `namespaces/${name}/core/secrets.yaml`,
      stringify({
        apiVersion: "v1",
        kind: "SecretList",
        items: [{ metadata: { name: "s", namespace: name } }],
      }),
    );
    at(
      `namespaces/${name}/core/configmaps.yaml`,
      stringify({
        apiVersion: "v1",
        kind: "ConfigMapList",
        items: [{ metadata: { name: "kube-root-ca.crt" } }],
      }),
    );
    at(
      `namespaces/${name}/discovery.k8s.io/endpointslices.yaml`,
      stringify(typedList("EndpointSlice", "discovery.k8s.io/v1", namespaced("EndpointSlice", name))),
    );
    at(
      `namespaces/${name}/networking.k8s.io/networkpolicies.yaml`,
      stringify(typedList("NetworkPolicy", "networking.k8s.io/v1", namespaced("NetworkPolicy", name))),
    );
    at(
      `namespaces/${name}/apps/daemonsets.yaml`,
      stringify({ apiVersion: "apps/v1", kind: "DaemonSetList", items: [] }),
    );
    for (const p of pods) {
      const pod = p.metadata?.name ?? "";
      at(`namespaces/${name}/pods/${pod}/${pod}.yaml`, stringify(p));
      at(`namespaces/${name}/pods/${pod}/main/main/logs/current.log`, "2026-01-01T00:00:00Z started\n");
    }
  }
}

describe("readKubernetesDir: must-gather", () => {
  it("reads the tree oc adm inspect writes, each object once, and says it is a must-gather", () => {
    const dir = newDir();
    mustGatherTree(dir);
    const r = readKubernetesDir(dir);
    expect(r.source).toBe("must-gather");
    expect(r.problems).toEqual([]);
    expectAllOfTruth(r.items);
  });

  it("names a broken YAML file of the tree and reads the rest", () => {
    const dir = newDir();
    mustGatherTree(dir);
    const bad = "must-gather.local.5219/x/namespaces/default/core/services.yaml";
    put(dir, bad, "apiVersion: v1\nkind: ServiceList\nitems:\n- metadata: {name: a\n");
    const r = readKubernetesDir(dir);
    expect(r.problems.length).toBe(1);
    expect(r.problems[0]?.startsWith(`${bad}:`)).toBe(true);
    expectAllOfTruth(r.items);
  });

  it("knows which resource a must-gather path files", () => {
    expect(mustGatherResource("mg/img/namespaces/default/core/pods.yaml")).toBe("pods");
    expect(mustGatherResource("mg/img/namespaces/default/default.yaml")).toBe("namespaces");
    expect(mustGatherResource("mg/img/namespaces/default/pods/web/web.yaml")).toBe("pods");
    expect(mustGatherResource("mg/img/namespaces/default/discovery.k8s.io/endpointslices.yaml")).toBe(
      "endpointslices",
    );
    expect(mustGatherResource("mg/img/namespaces/default/core/services/web.yaml")).toBe("services");
    expect(mustGatherResource("mg/img/cluster-scoped-resources/core/nodes/ovn-worker.yaml")).toBe("nodes");
    expect(mustGatherResource("mg/img/cluster-scoped-resources/core/nodes.yaml")).toBe("nodes");
    expect(
      mustGatherResource("mg/img/namespaces/default/pods/web/main/main/logs/current.log"),
    ).toBeUndefined();
    expect(mustGatherResource("dumps/pods.json")).toBeUndefined();
  });
});
