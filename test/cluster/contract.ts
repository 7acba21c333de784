import { expect, it } from "vitest";
import { NotFoundError, type ClusterBackend } from "../../src/cluster/backend.js";

/**
 * What every ClusterBackend must do, run against each implementation over the same lab (the
 * example kind cluster): the objects it reads, and commands executed in a node's OVS/OVN context.
 */
export function backendContract(getBackend: () => ClusterBackend): void {
  it("reads a pod with its node, IPs and ovn-kubernetes annotation", async () => {
    const pod = await getBackend().readPod("default", "web");
    expect(pod.spec?.nodeName).toBe("ovn-worker2");
    expect(pod.status?.podIPs?.map((p) => p.ip)).toContain("10.244.2.4");
    const networks = JSON.parse(pod.metadata?.annotations?.["k8s.ovn.org/pod-networks"] ?? "{}") as Record<
      string,
      { mac_address?: string }
    >;
    expect(networks.default?.mac_address).toBe("0a:58:0a:f4:02:04");
  });

  it("says NotFound for a pod, service or node that does not exist", async () => {
    await expect(getBackend().readPod("default", "no-such-pod")).rejects.toBeInstanceOf(NotFoundError);
    await expect(getBackend().readService("default", "no-such-svc")).rejects.toBeInstanceOf(NotFoundError);
    await expect(getBackend().readNode("no-such-node")).rejects.toBeInstanceOf(NotFoundError);
  });

  it("lists with label and field selectors", async () => {
    const b = getBackend();
    const dns = await b.listPods("kube-system", { labelSelector: "k8s-app=kube-dns" });
    expect(dns.map((p) => p.metadata?.name).sort()).toEqual([
      "coredns-5d78c9869d-qm4zt",
      "coredns-5d78c9869d-x7k2p",
    ]);
    const onWorker2 = await b.listPods(undefined, { fieldSelector: "spec.nodeName=ovn-worker2" });
    expect(onWorker2.every((p) => p.spec?.nodeName === "ovn-worker2")).toBe(true);
    expect(onWorker2.map((p) => p.metadata?.name)).toContain("web");
    const ovnkube = await b.listPods(undefined, { labelSelector: "app=ovnkube-node" });
    expect(ovnkube.length).toBe(3);
    const slices = await b.listEndpointSlices("kube-system", {
      labelSelector: "kubernetes.io/service-name=kube-dns",
    });
    expect(
      slices
        .flatMap((s) => s.endpoints ?? [])
        .flatMap((e) => e.addresses)
        .sort(),
    ).toEqual(["10.244.0.3", "10.244.2.3"]);
    const allSlices = await b.listEndpointSlices(undefined);
    expect(new Set(allSlices.map((s) => s.metadata?.namespace))).toEqual(new Set(["default", "kube-system"]));
    const services = await b.listServices(undefined);
    expect(services.map((s) => `${s.metadata?.namespace ?? ""}/${s.metadata?.name ?? ""}`)).toContain(
      "kube-system/kube-dns",
    );
    expect((await b.listServices("kube-system")).every((s) => s.metadata?.namespace === "kube-system")).toBe(
      true,
    );
    const namespaces = (await b.listNamespaces()).map((n) => n.metadata?.name);
    expect(namespaces).toEqual(expect.arrayContaining(["default", "kube-system"]));
    const pols = await b.listNetworkPolicies("default");
    expect(pols.map((p) => p.metadata?.name)).toEqual(["allow-8080"]);
    const node = await b.readNode("ovn-worker");
    expect(node.metadata?.annotations?.["k8s.ovn.org/zone-name"]).toBeDefined();
  });

  it("runs a command in the node's OVS context", async () => {
    const r = await getBackend().execOnNode("ovn-worker", [
      "ovs-vsctl",
      "get",
      "open_vswitch",
      ".",
      "external_ids:hostname",
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().replace(/"/g, "")).toBe("ovn-worker");
  });

  it("reaches the node's OVN southbound database by default", async () => {
    const r = await getBackend().execOnNode("ovn-worker2", [
      "ovn-sbctl",
      "--bare",
      "--columns=logical_port",
      "find",
      "port_binding",
      "logical_port=default_web",
    ]);
    expect(r.stdout.trim()).toBe("default_web");
  });

  it("returns a failing command as data, with its exit code and stderr", async () => {
    const r = await getBackend().execOnNode("ovn-worker", [
      "ovs-vsctl",
      "get",
      "interface",
      "no-such-interface",
      "ofport",
    ]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-interface/);
  });

  it("stops a command that runs past its timeout", async () => {
    const r = await getBackend().execOnNode(
      "ovn-worker",
      ["ovs-appctl", "-T", "30", "netdev-dummy/conn-state", "x"],
      { timeoutMs: 1 },
    );
    expect(r.timedOut || r.exitCode !== 0).toBe(true);
  });
}
