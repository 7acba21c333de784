import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KubeBackend } from "../../src/backends/kube/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { InputError } from "../../src/errors.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { TestApiServer } from "../k8s-api/server.js";
import { backendContract } from "../cluster/contract.js";
import { ClusterUnreachableError, ForbiddenError, NotFoundError } from "../../src/errors.js";

describe.each(["central", "interconnect"] as const)(
  "kube backend against the test API server + lab (%s)",
  (shape) => {
    let state: LabState;
    let server: TestApiServer;
    let backend: KubeBackend;
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, shape), newLabDir())).state;
      server = await serveLab(state);
      backend = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "lab" });
    });
    afterAll(async () => {
      await backend.close();
      await server.close();
      await labDown(state.dir);
    });

    backendContract(() => backend);

    it("never writes to the cluster, and lists with selectors", () => {
      expect(server.requests.filter((r) => r.method !== "GET")).toEqual([]);
      const podLists = server.requests.filter((r) => /\/pods$/.test(r.path) && !r.ws);
      expect(podLists.length).toBeGreaterThan(0);
      for (const r of podLists) expect(r.query.labelSelector ?? r.query.fieldSelector).toBeDefined();
    });

    it("caches what it read: the same pod is fetched once per run", async () => {
      const before = server.requests.filter((r) => r.path.endsWith("/pods/client")).length;
      await backend.readPod("default", "client");
      await backend.readPod("default", "client");
      const after = server.requests.filter((r) => r.path.endsWith("/pods/client")).length;
      expect(after - before).toBeLessThanOrEqual(1);
    });
  },
);

describe("kube backend failures", () => {
  let state: LabState;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"), newLabDir())).state;
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  it("uses the --context it is given", async () => {
    const server = await serveLab(state);
    try {
      const b = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "other" });
      await b.readPod("default", "web");
      expect(server.requests.at(-1)?.context).toBe("other");
      expect(
        () => new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), context: "nope" }),
      ).toThrow(InputError);
    } finally {
      await server.close();
    }
  });

  it("maps RBAC 403 to ForbiddenError and 404 to NotFoundError", async () => {
    const server = await serveLab(state, { forbid: (r) => r.resource === "services" });
    try {
      const b = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()) });
      await expect(b.readService("kube-system", "kube-dns")).rejects.toBeInstanceOf(ForbiddenError);
      await expect(b.readPod("default", "ghost")).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await server.close();
    }
  });

  it("reports an unreachable API server quickly and clearly", async () => {
    const server = await serveLab(state);
    const kubeconfig = server.writeKubeconfig(newLabDir());
    await server.close();
    const b = new KubeBackend({ kubeconfig, requestTimeoutMs: 3000 });
    const t = performance.now();
    await expect(b.readPod("default", "web")).rejects.toThrow(ClusterUnreachableError);
    expect(performance.now() - t).toBeLessThan(3500);
  });

  it("gives up on an exec that hangs, and reports one that fails", async () => {
    const server = await serveLab(state, { execDelayMs: 5000 });
    try {
      const b = new KubeBackend({ kubeconfig: server.writeKubeconfig(newLabDir()), execTimeoutMs: 300 });
      const r = await b.execOnNode("ovn-worker", ["ovs-vsctl", "show"]);
      expect(r.timedOut).toBe(true);
      expect(r.exitCode).toBe(124);
    } finally {
      await server.close();
    }
    const ok = await serveLab(state);
    try {
      const b = new KubeBackend({ kubeconfig: ok.writeKubeconfig(newLabDir()) });
      const r = await b.execOnNode("ovn-worker", ["ovs-vsctl", "get", "bridge", "no-such-bridge", "name"]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/no-such-bridge/);
      await expect(b.execOnNode("no-such-node", ["true"])).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await ok.close();
    }
  });
});
