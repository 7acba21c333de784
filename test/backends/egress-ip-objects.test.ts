import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import type { CustomResource } from "../../src/cluster/backend.js";
import { egressIPObject } from "../../src/lab/egress-ip.js";
import { startTestApiServer, type TestApiServer } from "../k8s-api/server.js";

/**
 * EgressIPs read from a live cluster through client-node's CustomObjectsApi (what snapshot collect lists): the test
 * API server serves k8s.ovn.org/v1 egressips only when it holds EgressIPs, as a real one only with the CRD.
 */
const EGRESS_IP: CustomResource = {
  group: "k8s.ovn.org",
  version: "v1",
  plural: "egressips",
  kind: "EgressIP",
  namespaced: false,
};

const node = { apiVersion: "v1", kind: "Node", metadata: { name: "ovn-worker2" } };
const eip = egressIPObject({
  name: "egressip-prod",
  egressIPs: ["172.18.0.33"],
  namespaceSelector: { matchLabels: { env: "prod" } },
  podSelector: {},
  status: [{ node: "ovn-worker2", egressIP: "172.18.0.33" }],
  pods: [],
});

describe.each([
  ["with the CRD", [node, eip], ["egressip-prod ovn-worker2 172.18.0.33"]],
  ["without the CRD", [node], []],
] as const)("a cluster %s", (_, items, want) => {
  let server: TestApiServer;
  let dir: string;
  let backend: KubeBackend;
  beforeAll(async () => {
    server = await startTestApiServer({ objects: { items: [...items] }, token: "eip-token" });
    dir = mkdtempSync(join(tmpdir(), "eip-kube-"));
    backend = new KubeBackend({ kubeconfig: server.writeKubeconfig(dir), context: "lab" });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists its EgressIPs with their status, none when it does not serve them", async () => {
    const objects = (await backend.listCustomObjects(EGRESS_IP)) as {
      metadata?: { name?: string };
      status?: { items?: { node: string; egressIP: string }[] };
    }[];
    expect(
      objects.flatMap((o) =>
        (o.status?.items ?? []).map((s) => `${o.metadata?.name ?? ""} ${s.node} ${s.egressIP}`),
      ),
    ).toEqual(want);
    const asked = server.requests.filter((r) => r.path.endsWith("/egressips"));
    expect(asked.map((r) => [r.path, r.status])).toEqual([
      ["/apis/k8s.ovn.org/v1/egressips", want.length === 0 ? 404 : 200],
    ]);
  });
});
