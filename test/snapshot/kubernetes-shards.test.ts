import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { ObjectStore } from "../../src/cluster/object-store.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { kubernetesObjects } from "../../src/lab/kubernetes.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { scaleScenario } from "../../src/lab/scale-scenario.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { openKubernetesShards, writeKubernetesShards } from "../../src/snapshot/kubernetes-shards.js";

const root = mkdtempSync("/tmp/otb-k8s-shards-");
afterAll(() => {
  rmSync(root, { recursive: true, force: true });
});

/** The lab's objects (what kubernetes.json holds), in the order the lab writes them. */
function itemsOf(file: string): unknown[] {
  return (kubernetesObjects(loadScenarioFile(file)) as { items: unknown[] }).items;
}

const NAMESPACED = ["Pod", "Service", "EndpointSlice", "NetworkPolicy"] as const;

function both(items: unknown[], name: string): { whole: ObjectStore; sharded: ObjectStore } {
  const dir = join(root, name);
  writeKubernetesShards(items, dir);
  const source = openKubernetesShards(dir);
  if (source === undefined) throw new Error(`no shards in ${dir}`);
  return { whole: new ObjectStore(items), sharded: new ObjectStore(source) };
}

describe("Kubernetes objects by kind and namespace", () => {
  for (const [name, items] of [
    ["kind example", itemsOf(`${EXAMPLES_DIR}kind.yaml`)],
    [
      "generated cluster",
      (
        kubernetesObjects(
          resolveScenario(scaleScenario({ nodes: 3, pods: 120, services: 40, policies: 12 })),
        ) as {
          items: unknown[];
        }
      ).items,
    ],
  ] as const) {
    it(`${name}: every list and read answers as the objects in memory, in their order`, () => {
      const { whole, sharded } = both(items, name.replace(/ /g, "-"));
      const namespaces = whole.listNamespaces().map((n) => n.metadata?.name ?? "");
      expect(namespaces.length).toBeGreaterThan(1);
      expect(sharded.listNamespaces()).toEqual(whole.listNamespaces());
      expect(sharded.listNodes()).toEqual(whole.listNodes());
      expect(sharded.listPods(undefined)).toEqual(whole.listPods(undefined));
      expect(sharded.listServices(undefined)).toEqual(whole.listServices(undefined));
      expect(sharded.listEndpointSlices(undefined)).toEqual(whole.listEndpointSlices(undefined));
      expect(sharded.listNetworkPolicies(undefined)).toEqual(whole.listNetworkPolicies(undefined));
      for (const ns of [...namespaces, "no-such-namespace"]) {
        expect(sharded.listPods(ns), ns).toEqual(whole.listPods(ns));
        expect(sharded.listServices(ns), ns).toEqual(whole.listServices(ns));
        expect(sharded.listEndpointSlices(ns), ns).toEqual(whole.listEndpointSlices(ns));
        expect(sharded.listNetworkPolicies(ns), ns).toEqual(whole.listNetworkPolicies(ns));
      }
      const pods = whole.listPods(undefined);
      expect(pods.length).toBeGreaterThan(3);
      for (const p of pods) {
        const [ns, pod] = [p.metadata?.namespace ?? "", p.metadata?.name ?? ""];
        expect(sharded.readPod(ns, pod)).toEqual(p);
        expect(sharded.listPods(ns, { fieldSelector: `spec.nodeName=${p.spec?.nodeName ?? ""}` })).toEqual(
          whole.listPods(ns, { fieldSelector: `spec.nodeName=${p.spec?.nodeName ?? ""}` }),
        );
      }
      for (const s of whole.listServices(undefined))
        expect(sharded.readService(s.metadata?.namespace ?? "", s.metadata?.name ?? "")).toEqual(s);
      for (const n of whole.listNodes()) expect(sharded.readNode(n.metadata?.name ?? "")).toEqual(n);
      expect(() => sharded.readPod("default", "no-such-pod")).toThrow(/pod "no-such-pod" not found/);
      for (const kind of NAMESPACED)
        expect(items.some((i) => (i as { kind?: string }).kind === kind)).toBe(true);
    });
  }

  it("a directory without shards, or with shards of another format, opens as none", () => {
    expect(openKubernetesShards(join(root, "nothing"))).toBeUndefined();
    const dir = join(root, "other");
    writeKubernetesShards(itemsOf(`${EXAMPLES_DIR}kind.yaml`), dir);
    expect(openKubernetesShards(dir)).toBeDefined();
    writeFileSync(join(dir, "index.json"), JSON.stringify({ format: 0, files: {} }));
    expect(openKubernetesShards(dir)).toBeUndefined();
  });
});
