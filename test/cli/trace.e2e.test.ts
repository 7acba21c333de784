import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { cliAsync } from "../helpers/cli.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, nodeNetns, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { TraceReport } from "../../src/model/report.js";
import { examplePods, newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { TestApiServer } from "../k8s-api/server.js";

/**
 * The drop-in ovnkube-trace, end to end: the built CLI, Go-style flags, through @kubernetes/client-node
 * against the test API server that serves the lab's objects and runs each exec in the lab node of
 * its pod. Expected outcomes come from the scenario as written (and are the lab probes' ground truth).
 */
const SCENARIO = `${EXAMPLES_DIR}kind-dualstack.yaml`;
const declared = examplePods(SCENARIO);
const web = declared.find((p) => p.name === "web");
const sameNode = declared.find(
  (p) => p.node === declared.find((x) => x.name === "client")?.node && p.name !== "client",
);

const cli = cliAsync;

describe.each(["central", "interconnect"] as const)(
  "ovnkube-trace through the Kubernetes API (%s lab)",
  (shape) => {
    let state: LabState;
    let server: TestApiServer;
    let kube: string[];
    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(SCENARIO, shape), newLabDir())).state;
      server = await serveLab(state);
      kube = ["-kubeconfig", server.writeKubeconfig(newLabDir())];
    });
    afterAll(async () => {
      await server.close();
      await labDown(state.dir);
    });

    const json = async (
      args: string[],
    ): Promise<{ code: number | null; reports: TraceReport[]; stderr: string }> => {
      const r = await cli([...kube, ...args, "-o", "json", "-skip-detrace"]);
      return {
        code: r.code,
        // one document per run (schema/trace-run.schema.json): its reports
        reports: r.stdout.trim() === "" ? [] : (JSON.parse(r.stdout) as { reports: TraceReport[] }).reports,
        stderr: r.stderr,
      };
    };

    /** The Go tool's stdout for pod to pod, both ways, in its order (ovnkube-trace.go main). */
    const podToPod = (src: string, dst: string, remote: boolean, detrace: boolean): string[] => {
      const fwd = "source pod to destination pod";
      const rev = "destination pod to source pod";
      const ok = (what: string, from: string, to: string): string =>
        `${what} indicates success from ${from} to ${to}`;
      return [
        ok(`ovn-trace ${fwd}`, src, dst),
        ...(remote ? [ok(`ovn-trace (remote) ${fwd}`, src, dst)] : []),
        ok(`ovn-trace ${rev}`, dst, src),
        ...(remote ? [ok(`ovn-trace (remote) ${rev}`, dst, src)] : []),
        ok(`ovs-appctl ofproto/trace ${fwd}`, src, dst),
        ok(`ovs-appctl ofproto/trace ${rev}`, dst, src),
        ...(detrace ? [ok(`ovn-detrace ${fwd}`, src, dst), ok(`ovn-detrace ${rev}`, dst, src)] : []),
      ];
    };
    /** Our text starts with exactly the Go tool's lines; our additions follow. */
    const startsWithGoLines = (stdout: string, lines: readonly string[]): void => {
      const out = stdout.split("\n");
      expect(out.slice(0, lines.length)).toEqual(lines);
      expect(out.slice(lines.length).filter((l) => l.includes(" indicates "))).toEqual([]);
    };

    it("pod to pod across nodes, allowed port: every step succeeds, both ways, Go-style lines", async () => {
      const r = await cli([...kube, "-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"]);
      expect(r.code, r.stderr).toBe(0);
      // on interconnect each node is a zone: the Go tool's "(remote)" lines (its e2e test checks them)
      startsWithGoLines(r.stdout, podToPod("client", "web", shape === "interconnect", true));
    });

    it("--go-output-only: exactly the Go tool's lines, nothing after them", async () => {
      const args = [...kube, "-src", "client", "-dst", "web", "-tcp", "-dst-port", "8080"];
      const r = await cli([...args, "--go-output-only"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toBe(`${podToPod("client", "web", shape === "interconnect", true).join("\n")}\n`);
      expect((await cli(args)).stdout.length).toBeGreaterThan(r.stdout.length);
    });

    it("the policy-dropped port is a failure with a non-zero exit, named, and found on the destination node", async () => {
      const text = await cli([
        ...kube,
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "80",
        "-skip-detrace",
      ]);
      expect(text.code).toBe(1);
      expect(text.stderr).toMatch(/failure: ovn-trace \(forward\)/);
      // the Go tool stops at its first failure: the source zone's ovn-trace (central), or the destination
      // zone's (interconnect: the source zone hands the packet to the transit switch, a success)
      startsWithGoLines(text.stdout, [
        ...(shape === "interconnect"
          ? ["ovn-trace source pod to destination pod indicates success from client to web"]
          : []),
        `ovn-trace ${shape === "interconnect" ? "(remote) " : ""}source pod to destination pod indicates failure from client to web`,
      ]);
      const r = await json(["-src", "client", "-dst", "web", "-tcp", "-dst-port", "80"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/failure: ovn-trace \(forward\)/);
      const v = r.reports[0]?.forward.verdict;
      expect(v?.kind).toBe("dropped");
      if (v?.kind === "dropped") {
        expect(v.node).toBe(web?.node);
        expect(v.where).toMatch(/ls_out_acl/);
      }
      // the OpenFlow trace crossed to the destination node: the Go tool would have stopped at the tunnel
      expect(
        r.reports[0]?.forward.hops.filter((h) => h.tool === "ofproto/trace").map((h) => h.node),
      ).toContain(web?.node);
    });

    it("pod to pod on the same node, and over IPv6 with -addr-family ip6", async () => {
      if (sameNode === undefined) throw new Error("no second pod on the client's node");
      const text = await cli([
        ...kube,
        ...["-src", "client", "-dst", sameNode.name, "-udp", "-dst-port", "5353", "-skip-detrace"],
      ]);
      expect(text.code, text.stderr).toBe(0);
      // one node, one zone: no "(remote)" line in either shape
      startsWithGoLines(text.stdout, podToPod("client", sameNode.name, false, false));
      const same = await json(["-src", "client", "-dst", sameNode.name, "-udp", "-dst-port", "5353"]);
      expect(same.code).toBe(0);
      expect(same.reports[0]?.forward.verdict).toMatchObject({ kind: "delivered", node: sameNode.node });
      const v6 = await json([
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "-dst-port",
        "8080",
        "-addr-family",
        "ip6",
      ]);
      expect(v6.code).toBe(0);
      expect(v6.reports[0]?.forward.packet).toMatchObject({
        family: 6,
        dstIp: web?.ips.find((i) => i.includes(":")),
      });
    });

    it("pod to service: DNAT to a backend, traced to it; UDP too", async () => {
      const text = await cli([
        ...kube,
        ...["-src", "client", "-service", "kube-dns", "-dst-namespace", "kube-system"],
        ...["-udp", "-dst-port", "53", "-skip-detrace"],
      ]);
      expect(text.code, text.stderr).toBe(0);
      const backend = declared.find((p) =>
        text.stdout.includes(
          `ovs-appctl ofproto/trace source pod to destination pod indicates success from client to ${p.name}\n`,
        ),
      );
      expect(backend?.name).toMatch(/^coredns-/);
      // each node is a zone of its own on interconnect
      const remote =
        shape === "interconnect" && backend?.node !== declared.find((p) => p.name === "client")?.node;
      const name = backend?.name ?? "";
      startsWithGoLines(text.stdout, [
        "ovn-trace source pod to service clusterIP indicates success from client to kube-dns",
        ...(remote
          ? [`ovn-trace (remote) source pod to service clusterIP indicates success from client to ${name}`]
          : []),
        ...podToPod("client", name, remote, false),
      ]);
      const r = await json([
        "-src",
        "client",
        "-service",
        "kube-dns",
        "-dst-namespace",
        "kube-system",
        "-udp",
        "-dst-port",
        "53",
        "--src-port",
        "41234",
      ]);
      expect(r.code, r.stderr).toBe(0);
      const v = r.reports[0]?.forward.verdict;
      expect(v?.kind).toBe("delivered");
      if (v?.kind === "delivered" && v.to.kind === "pod") {
        expect(declared.filter((p) => p.name.startsWith("coredns")).map((p) => p.name)).toContain(v.to.name);
      }
      // --src-port: the packet's source port, on arrival too; the reply comes back to it from the VIP
      expect(r.reports[0]?.forward.packet.srcPort).toBe(41234);
      expect(v?.kind === "delivered" ? v.srcPort : undefined).toBe(41234);
      const reply = r.reports[0]?.reply?.verdict;
      expect(reply?.kind === "delivered" ? [reply.srcIp, reply.srcPort, reply.dstPort] : []).toEqual([
        "10.96.0.10",
        53,
        41234,
      ]);
    });

    it("pod to an external IP leaves through its node with the node IP as SNAT", async () => {
      const text = await cli([
        ...kube,
        ...["-src", "client", "-dst-ip", "198.51.100.7", "-udp", "-dst-port", "443"],
      ]);
      expect(text.code, text.stderr).toBe(0);
      startsWithGoLines(text.stdout, [
        "ovn-trace from pod to IP indicates success from client to 198.51.100.7",
        "ovs-appctl ofproto/trace pod to IP indicates success from client to 198.51.100.7",
        "ovn-detrace pod to external IP indicates success from client to 198.51.100.7",
      ]);
      const r = await json(["-src", "client", "-dst-ip", "198.51.100.7", "-udp", "-dst-port", "443"]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.reports[0]?.forward.verdict).toMatchObject({
        kind: "left-cluster",
        node: "ovn-worker",
        snatIp: "172.18.0.3",
      });
    });

    it("bad input: one-line errors with distinct exit codes, no stack trace", async () => {
      const cases: [string[], number, RegExp][] = [
        [["-dst", "web", "-tcp"], 2, /-src is required/],
        [["-src", "client", "-dst", "web", "-tcp", "-udp"], 2, /exactly one of -tcp, -udp, -icmp/],
        [
          ["-src", "client", "-dst", "web", "-service", "kube-dns", "-tcp"],
          2,
          /exactly one of -dst, -service, -dst-ip/,
        ],
        [["-src", "nosuchpod", "-dst", "web", "-tcp"], 3, /pod "nosuchpod" not found in namespace "default"/],
        [
          ["-src", "client", "-src-namespace", "nosuchns", "-dst", "web", "-tcp"],
          3,
          /namespace "nosuchns" not found/,
        ],
        [["-src", "client", "-service", "nosuchsvc", "-tcp"], 3, /service "nosuchsvc" not found/],
        // not bad input: traced, and rejected by the Service's load balancer (a failure, exit 1)
        [
          ["-src", "client", "-service", "no-endpoints", "-tcp"],
          1,
          /Service default\/no-endpoints has no ready endpoints/,
        ],
        [["-src", "client", "-dst-ip", "fd00::1", "-tcp", "-addr-family", "ip4"], 2, /not an IPv4 address/],
      ];
      for (const [args, code, message] of cases) {
        const r = await cli([...kube, ...args]);
        expect(r.code, `${args.join(" ")}: ${r.stderr}`).toBe(code);
        expect(r.stderr).toMatch(message);
        expect(r.stderr).not.toMatch(/^\s+at /m);
      }
    });
  },
);

describe("ovnkube-trace when the cluster misbehaves", () => {
  let state: LabState;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"), newLabDir())).state;
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  it("an unreachable API server: exit 5 within the timeout", async () => {
    const server = await serveLab(state);
    const kc = server.writeKubeconfig(newLabDir());
    await server.close();
    const t = performance.now();
    const r = await cli(["-kubeconfig", kc, "-src", "client", "-dst", "web", "-tcp", "--timeout", "2000"]);
    expect(r.code).toBe(5);
    expect(r.stderr).toMatch(/cannot reach the Kubernetes API server/);
    expect(performance.now() - t).toBeLessThan(10_000);
  });

  it("RBAC 403: exit 4, and an exec that hangs: exit 5 or a named timeout", async () => {
    const forbidden = await serveLab(state, { forbid: (q) => q.resource === "pods" && q.verb === "get" });
    try {
      const r = await cli([
        "-kubeconfig",
        forbidden.writeKubeconfig(newLabDir()),
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
      ]);
      expect(r.code).toBe(4);
      expect(r.stderr).toMatch(/forbidden/);
    } finally {
      await forbidden.close();
    }
    const hanging = await serveLab(state, { execDelayMs: 60_000 });
    try {
      const t = performance.now();
      const r = await cli([
        "-kubeconfig",
        hanging.writeKubeconfig(newLabDir()),
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
        "--timeout",
        "1500",
        "-skip-detrace",
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/timed out/);
      expect(performance.now() - t).toBeLessThan(20_000);
    } finally {
      await hanging.close();
    }
  });

  it("an exec that fails is reported, not a crash", async () => {
    const failing = await serveLab(state, {
      exec: () =>
        Promise.resolve({ exitCode: 126, stdout: "", stderr: "bash: ovn-trace: Permission denied" }),
    });
    try {
      const r = await cli([
        "-kubeconfig",
        failing.writeKubeconfig(newLabDir()),
        "-src",
        "client",
        "-dst",
        "web",
        "-tcp",
      ]);
      expect(r.code).not.toBe(0);
      expect(r.stdout + r.stderr).toMatch(/Permission denied/);
      expect(r.stderr).not.toMatch(/^\s+at /m);
    } finally {
      await failing.close();
    }
  });
});

describe("-dump-udn-vrf-table-ids", () => {
  it("prints, per node, each user-defined network's VRF table id (1000 + its management link's ifindex)", async () => {
    const { state } = await labUp(
      loadScenarioFile(`${EXAMPLES_DIR}kind-udn.yaml`, "interconnect"),
      newLabDir(),
    );
    const server = await serveLab(state);
    try {
      const r = await cli(["-kubeconfig", server.writeKubeconfig(newLabDir()), "-dump-udn-vrf-table-ids"]);
      expect(r.code, r.stderr).toBe(0);
      const ids = JSON.parse(r.stdout) as Record<string, Record<string, number>>;
      expect(Object.keys(ids).sort()).toEqual(state.cluster.nodes.map((n) => n.name).sort());
      for (const node of state.cluster.nodes) {
        const ns = nodeNetns(state, node.name);
        const links = JSON.parse(
          (await import("node:child_process")).execFileSync("ip", ["-n", ns ?? "", "-j", "link"]).toString(),
        ) as { ifname: string; ifindex: number }[];
        const byName = new Map(links.map((l) => [l.ifname, l.ifindex]));
        for (const [net, table] of Object.entries(ids[node.name] ?? {})) {
          const id = state.cluster.userDefinedNetworks.find((u) => u.name === net)?.id;
          expect(table).toBe(1000 + (byName.get(`ovn-k8s-mp${id ?? -1}`) ?? NaN));
        }
      }
    } finally {
      await server.close();
      await labDown(state.dir);
    }
  });
});
