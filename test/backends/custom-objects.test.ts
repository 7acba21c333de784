import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import type { CustomResource } from "../../src/cluster/backend.js";
import { egressIPObject } from "../../src/lab/egress-ip.js";
import { startTestApiServer, type TestApiServer } from "../k8s-api/server.js";

/**
 * The custom resources snapshot collect lists (EgressFirewall, EgressIP, AdminNetworkPolicy), read from a live
 * cluster through client-node's CustomObjectsApi: the test API server serves a resource only when it holds objects
 * of it, as a real one only with the CRD installed; a cluster without it has none, and that is no error.
 */
interface Listed {
  readonly metadata?: { readonly name?: string; readonly namespace?: string };
  readonly spec?: { readonly egress?: readonly { type: string; to: { cidrSelector?: string } }[] };
  readonly status?: { readonly items?: readonly { node: string; egressIP: string }[] };
}

interface Case {
  readonly resource: CustomResource;
  readonly objects: readonly Record<string, unknown>[];
  /** What the test compares of each object listed. */
  readonly lines: (o: Listed) => string[];
  readonly want: readonly string[];
}

const firewall = (namespace: string, cidr: string): Record<string, unknown> => ({
  apiVersion: "k8s.ovn.org/v1",
  kind: "EgressFirewall",
  metadata: { name: "default", namespace },
  spec: { egress: [{ type: "Deny", to: { cidrSelector: cidr } }] },
});

const CASES: Record<string, Case> = {
  "EgressFirewalls of every namespace, with their rules": {
    resource: {
      group: "k8s.ovn.org",
      version: "v1",
      plural: "egressfirewalls",
      kind: "EgressFirewall",
      namespaced: true,
    },
    objects: [firewall("payments", "0.0.0.0/0"), firewall("shop", "192.0.2.0/24")],
    lines: (o) =>
      (o.spec?.egress ?? []).map(
        (r) =>
          `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""} ${r.type} ${r.to.cidrSelector ?? ""}`,
      ),
    want: ["payments/default Deny 0.0.0.0/0", "shop/default Deny 192.0.2.0/24"],
  },
  "EgressIPs, with their status": {
    resource: {
      group: "k8s.ovn.org",
      version: "v1",
      plural: "egressips",
      kind: "EgressIP",
      namespaced: false,
    },
    objects: [
      egressIPObject({
        name: "egressip-prod",
        egressIPs: ["172.18.0.33"],
        namespaceSelector: { matchLabels: { env: "prod" } },
        podSelector: {},
        status: [{ node: "ovn-worker2", egressIP: "172.18.0.33" }],
        pods: [],
      }),
    ],
    lines: (o) => (o.status?.items ?? []).map((s) => `${o.metadata?.name ?? ""} ${s.node} ${s.egressIP}`),
    want: ["egressip-prod ovn-worker2 172.18.0.33"],
  },
  AdminNetworkPolicies: {
    resource: {
      group: "policy.networking.k8s.io",
      version: "v1alpha1",
      plural: "adminnetworkpolicies",
      kind: "AdminNetworkPolicy",
      namespaced: false,
    },
    objects: [
      {
        apiVersion: "policy.networking.k8s.io/v1alpha1",
        kind: "AdminNetworkPolicy",
        metadata: { name: "cluster-control" },
        spec: {
          priority: 34,
          subject: { namespaces: {} },
          egress: [{ name: "default-deny", action: "Deny" }],
        },
      },
    ],
    lines: (o) => [o.metadata?.name ?? ""],
    want: ["cluster-control"],
  },
};

const node = { apiVersion: "v1", kind: "Node", metadata: { name: "ovn-worker" } };

describe.each(Object.entries(CASES))("%s", (_, c) => {
  describe.each([
    ["with the CRD", true],
    ["without the CRD", false],
  ] as const)("a cluster %s", (__, crd) => {
    let server: TestApiServer;
    let dir: string;
    let backend: KubeBackend;
    beforeAll(async () => {
      server = await startTestApiServer({
        objects: { items: crd ? [node, ...c.objects] : [node] },
        token: "t",
      });
      dir = mkdtempSync(join(tmpdir(), "custom-kube-"));
      backend = new KubeBackend({ kubeconfig: server.writeKubeconfig(dir), context: "lab" });
    });
    afterAll(async () => {
      await server.close();
      rmSync(dir, { recursive: true, force: true });
    });

    it("lists them, none when it does not serve the resource", async () => {
      const objects = (await backend.listCustomObjects(c.resource)) as Listed[];
      expect(objects.flatMap(c.lines).sort()).toEqual(crd ? c.want : []);
      const { group, version, plural } = c.resource;
      const asked = server.requests.filter((r) => r.path.endsWith(`/${plural}`));
      expect(asked.map((r) => [r.path, r.status])).toEqual([
        [`/apis/${group}/${version}/${plural}`, crd ? 200 : 404],
      ]);
    });
  });
});
