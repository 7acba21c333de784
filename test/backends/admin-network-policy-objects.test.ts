import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { parseScenario } from "../../src/lab/load-scenario.js";
import { collectFromBackend } from "../../src/snapshot/collect.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";

/** An AdminNetworkPolicy collected into a snapshot from a live cluster (the listing itself: custom-objects.test.ts). */
const anp = {
  apiVersion: "policy.networking.k8s.io/v1alpha1",
  kind: "AdminNetworkPolicy",
  metadata: { name: "cluster-control" },
  spec: { priority: 34, subject: { namespaces: {} }, egress: [{ name: "default-deny", action: "Deny" }] },
};

describe("a snapshot collected from a live cluster", () => {
  let state: LabState;
  let work: string;
  beforeAll(async () => {
    const scenario = parseScenario(
      "name: anp\nnodes: [{ name: ovn-worker }]\npods: [{ namespace: default, name: a, node: ovn-worker, ips: [10.244.0.5] }]\n",
      "anp.yaml",
    );
    state = (await labUp(resolveScenario(scenario), newLabDir())).state;
    work = mkdtempSync(join(tmpdir(), "anp-collect-"));
  }, 300_000);
  afterAll(async () => {
    await labDown(state.dir);
    rmSync(work, { recursive: true, force: true });
  }, 120_000);

  /** Collects through the kube backend from the lab's objects plus `extra`; the kinds of kubernetes.json. */
  async function collected(name: string, extra: readonly object[]): Promise<string[]> {
    const lab = JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
      items: Record<string, unknown>[];
    };
    const server = await serveLab(state, {
      objects: { items: [...lab.items, ...(extra as Record<string, unknown>[])] },
    });
    try {
      const kube = new KubeBackend({ kubeconfig: server.writeKubeconfig(work), context: "lab" });
      const out = join(work, name);
      await collectFromBackend(kube, { out, source: { kind: "cluster", description: "test" } });
      const items = (
        JSON.parse(readFileSync(join(out, "kubernetes.json"), "utf8")) as {
          items: { kind: string; apiVersion: string; metadata: { name: string } }[];
        }
      ).items;
      return items
        .filter((o) => o.kind.includes("AdminNetworkPolicy"))
        .map((o) => `${o.apiVersion} ${o.kind} ${o.metadata.name}`);
    } finally {
      await server.close();
    }
  }

  it("holds the cluster's AdminNetworkPolicies", async () => {
    expect(await collected("with-crd", [anp])).toEqual([
      "policy.networking.k8s.io/v1alpha1 AdminNetworkPolicy cluster-control",
    ]);
  }, 300_000);

  it("is collected from a cluster without the CRD", async () => {
    expect(await collected("without-crd", [])).toEqual([]);
  }, 300_000);
});
