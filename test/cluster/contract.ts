import { expect, it } from "vitest";
import type { ClusterBackend, ExecResult } from "../../src/cluster/backend.js";
import { NotFoundError, OvnkTraceError } from "../../src/errors.js";

type ContractCheck = (b: ClusterBackend) => Promise<void>;

/**
 * What every ClusterBackend must do, run against each implementation over the same lab (the
 * example kind cluster): the objects it reads, and commands executed in a node's OVS/OVN context.
 * Each case is named by its test name; a backend's declared gaps refer to these names.
 */
const CASES = {
  "reads a pod with its node, IPs and ovn-kubernetes annotation": async (b) => {
    const pod = await b.readPod("default", "web");
    expect(pod.spec?.nodeName).toBe("ovn-worker2");
    expect(pod.status?.podIPs?.map((p) => p.ip)).toContain("10.244.2.4");
    const networks = JSON.parse(pod.metadata?.annotations?.["k8s.ovn.org/pod-networks"] ?? "{}") as Record<
      string,
      { mac_address?: string }
    >;
    expect(networks.default?.mac_address).toBe("0a:58:0a:f4:02:04");
  },

  "says NotFound for a pod, service or node that does not exist": async (b) => {
    await expect(b.readPod("default", "no-such-pod")).rejects.toBeInstanceOf(NotFoundError);
    await expect(b.readService("default", "no-such-svc")).rejects.toBeInstanceOf(NotFoundError);
    await expect(b.readNode("no-such-node")).rejects.toBeInstanceOf(NotFoundError);
  },

  "lists with label and field selectors": async (b) => {
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
  },

  "runs a command in the node's OVS context": async (b) => {
    const r = await b.execOnNode("ovn-worker", [
      "ovs-vsctl",
      "get",
      "open_vswitch",
      ".",
      "external_ids:hostname",
    ]);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim().replace(/"/g, "")).toBe("ovn-worker");
  },

  "reaches the node's OVN southbound database by default": async (b) => {
    const r = await b.execOnNode("ovn-worker2", [
      "ovn-sbctl",
      "--bare",
      "--columns=logical_port",
      "find",
      "port_binding",
      "logical_port=default_web",
    ]);
    expect(r.stdout.trim()).toBe("default_web");
  },

  "returns a failing command as data, with its exit code and stderr": async (b) => {
    const r = await b.execOnNode("ovn-worker", [
      "ovs-vsctl",
      "get",
      "interface",
      "no-such-interface",
      "ofport",
    ]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stderr).toMatch(/no-such-interface/);
  },

  "stops a command that runs past its timeout": async (b) => {
    // ovsdb-client monitor never ends by itself: only the timeout stops it
    const r = await b.execOnNode(
      "ovn-worker",
      ["ovsdb-client", "monitor", "Open_vSwitch", "Bridge", "name"],
      {
        timeoutMs: 300,
      },
    );
    expect(r.timedOut).toBe(true);
    expect(r.durationMs).toBeLessThan(20_000);
  },
} satisfies Record<string, ContractCheck>;

/** The name of one case of the contract. */
export type ContractCase = keyof typeof CASES;

/**
 * A case of the contract that a backend declares it cannot pass, and why: written where the
 * backend's test runs the contract, so that the exception is in plain sight. A declared gap still
 * tests something: the case must fail on that backend (a gap that closed fails, so that its
 * declaration goes), and the backend must say so clearly — one of its calls rejects with the
 * tool's own error, or a command fails with a stderr, in words that match `says` — rather than
 * answer something wrong in silence.
 */
export interface ContractGap {
  readonly case: ContractCase;
  /** Why the backend cannot do it (what it does not have): shown in the test name. */
  readonly reason: string;
  /** What the backend says instead: the message it rejects with, or the failed command's stderr. */
  readonly says: RegExp;
}

/**
 * The backend, with what it said when it declined recorded in `said`: the message of every
 * OvnkTraceError a call rejected with, and the stderr of every command that failed (not timed out).
 */
function recording(b: ClusterBackend, said: string[]): ClusterBackend {
  const call = async <T>(p: Promise<T>): Promise<T> => {
    try {
      return await p;
    } catch (e) {
      if (e instanceof OvnkTraceError) said.push(e.message);
      throw e;
    }
  };
  const exec = async (p: Promise<ExecResult>): Promise<ExecResult> => {
    const r = await call(p);
    if (r.exitCode !== 0 && !r.timedOut) said.push(r.stderr);
    return r;
  };
  return {
    kind: b.kind,
    description: b.description,
    readPod: (ns, name) => call(b.readPod(ns, name)),
    listPods: (ns, o) => call(b.listPods(ns, o)),
    readNode: (name) => call(b.readNode(name)),
    listNodes: (o) => call(b.listNodes(o)),
    readNamespace: (name) => call(b.readNamespace(name)),
    listNamespaces: () => call(b.listNamespaces()),
    readService: (ns, name) => call(b.readService(ns, name)),
    listServices: (ns) => call(b.listServices(ns)),
    listEndpointSlices: (ns, o) => call(b.listEndpointSlices(ns, o)),
    listNetworkPolicies: (ns) => call(b.listNetworkPolicies(ns)),
    execOnNode: (node, argv, o) => exec(b.execOnNode(node, argv, o)),
    close: () => b.close(),
  };
}

/**
 * Runs the contract against a backend. `gaps`: the cases it declares it cannot pass, each with
 * its reason; those run as declared-gap tests (see ContractGap), every other case as is.
 */
export function backendContract(getBackend: () => ClusterBackend, gaps: readonly ContractGap[] = []): void {
  const declared = new Map<ContractCase, ContractGap>();
  for (const g of gaps) {
    if (declared.has(g.case)) throw new Error(`contract gap "${g.case}" is declared twice`);
    if (g.reason.trim() === "") throw new Error(`contract gap "${g.case}" has no reason`);
    declared.set(g.case, g);
  }
  for (const [name, check] of Object.entries(CASES) as [ContractCase, ContractCheck][]) {
    const gap = declared.get(name);
    if (gap === undefined) {
      it(name, () => check(getBackend()));
      continue;
    }
    it(`${name} (declared gap: ${gap.reason})`, async () => {
      const said: string[] = [];
      const failure = await check(recording(getBackend(), said)).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(failure, `the backend passes "${name}": remove its declared gap`).toBeDefined();
      expect(
        said.some((s) => gap.says.test(s)),
        `the backend fails "${name}" without saying ${String(gap.says)}; it said ${JSON.stringify(said)} and the case failed with: ${String(failure)}`,
      ).toBe(true);
    });
  }
}
