import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import type { CustomResource } from "../../src/cluster/backend.js";
import { startTestApiServer, type TestApiServer } from "../k8s-api/server.js";

/**
 * EgressFirewalls read from a live cluster through client-node's CustomObjectsApi, across namespaces (what snapshot
 * collect lists): the test API server serves k8s.ovn.org/v1 egressfirewalls only when it holds some, as a real one
 * only with the CRD; a cluster without it has none, and that is no error.
 */
const EGRESS_FIREWALL: CustomResource = {
  group: "k8s.ovn.org",
  version: "v1",
  plural: "egressfirewalls",
  kind: "EgressFirewall",
  namespaced: true,
};

const node = { apiVersion: "v1", kind: "Node", metadata: { name: "ovn-worker" } };
const firewall = (namespace: string, cidr: string) => ({
  apiVersion: "k8s.ovn.org/v1",
  kind: "EgressFirewall",
  metadata: { name: "default", namespace },
  spec: { egress: [{ type: "Deny", to: { cidrSelector: cidr } }] },
});

describe.each([
  [
    "with the CRD",
    [node, firewall("payments", "0.0.0.0/0"), firewall("shop", "192.0.2.0/24")],
    ["payments/default Deny 0.0.0.0/0", "shop/default Deny 192.0.2.0/24"],
  ],
  ["without the CRD", [node], []],
] as const)("a cluster %s", (_, items, want) => {
  let server: TestApiServer;
  let dir: string;
  let backend: KubeBackend;
  beforeAll(async () => {
    server = await startTestApiServer({ objects: { items: [...items] }, token: "ef-token" });
    dir = mkdtempSync(join(tmpdir(), "ef-kube-"));
    backend = new KubeBackend({ kubeconfig: server.writeKubeconfig(dir), context: "lab" });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("lists the EgressFirewalls of every namespace with their rules, none when it does not serve them", async () => {
    const objects = (await backend.listCustomObjects(EGRESS_FIREWALL)) as {
      metadata?: { name?: string; namespace?: string };
      spec?: { egress?: { type: string; to: { cidrSelector?: string } }[] };
    }[];
    expect(
      objects
        .flatMap((o) =>
          (o.spec?.egress ?? []).map(
            (r) =>
              `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""} ${r.type} ${r.to.cidrSelector ?? ""}`,
          ),
        )
        .sort(),
    ).toEqual(want);
    const asked = server.requests.filter((r) => r.path.endsWith("/egressfirewalls"));
    expect(asked.map((r) => [r.path, r.status])).toEqual([
      ["/apis/k8s.ovn.org/v1/egressfirewalls", want.length === 0 ? 404 : 200],
    ]);
  });
});
