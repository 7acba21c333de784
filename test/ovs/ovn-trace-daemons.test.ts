import { existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import type { TraceTarget } from "../../src/model/target.js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { OvnTraceCall } from "../../src/cluster/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, nodeEnv, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { AUTO_MIN_SB_BYTES, OvnTraceDaemons, runRoot } from "../../src/ovs/ovn-trace-daemons.js";
import { comparableRun } from "../helpers/comparable.js";
import { newLabDir, processesUnder, waitForMacLearning } from "../helpers/lab.js";

/**
 * The ovn-trace daemons answer exactly what the one-shot `ovn-trace` prints for the same options, however many
 * traces a daemon has served (its --ct flags are consumed across traces: it is replaced before they run out),
 * survive a trace that kills a daemon, and leave no process and no directory behind once closed.
 */
describe("ovn-trace daemons", () => {
  let state: LabState;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    // until breth0 has learned the nodes' MACs, a trace through it floods, and the next one does not
    await waitForMacLearning(state);
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  const pod = (name: string) => {
    const p = state.cluster.pods.find((x) => x.name === name);
    if (p === undefined) throw new Error(`no pod ${name}`);
    return p;
  };
  const sb = (node: string): string => nodeEnv(state, node).OVN_SB_DB ?? "";

  /** client → `dstIp`:`port` as its node's switch sees it, the way the tracer asks. */
  function call(dstIp: string, proto: "tcp" | "udp", port: number, ct: string, lbDst?: string): OvnTraceCall {
    const c = pod("client");
    const gw = state.cluster.nodes.find((n) => n.name === c.node)?.gatewayMac ?? "";
    return {
      ct,
      oneShot: [],
      ...(lbDst === undefined ? {} : { lbDst }),
      datapath: c.node,
      microflow:
        `inport == "${c.lsp}" && eth.src == ${c.mac} && eth.dst == ${gw} && ip4.src == ${c.ips[4] ?? ""} && ` +
        `ip4.dst == ${dstIp} && ip.ttl == 64 && ${proto} && ${proto}.src == 40000 && ${proto}.dst == ${String(port)}`,
    };
  }

  /** What `ovn-trace` run once prints for the same call (every ct action seeing the call's flags). */
  async function oneShot(node: string, c: OvnTraceCall): Promise<string> {
    const argv = [
      "ovn-trace",
      "--detailed",
      ...Array.from({ length: 16 }, () => `--ct=${c.ct}`),
      ...(c.lbDst === undefined ? [] : [`--lb-dst=${c.lbDst}`]),
      c.datapath,
      c.microflow,
    ];
    const r = await runOnNode(state, node, argv);
    expect(r.exitCode, r.stderr).toBe(0);
    return r.stdout;
  }

  it("answers what the one-shot command prints: new, reply, each load balancer backend, a bad microflow", async () => {
    const pool = new OvnTraceDaemons(runRoot(state.dir), "always");
    try {
      const web = pod("web").ips[4] ?? "";
      const dns = state.cluster.services.find((s) => s.name === "kube-dns");
      const vip = dns?.clusterIPs[4] ?? "";
      const backends = dns?.endpoints ?? [];
      expect(backends.length).toBeGreaterThanOrEqual(2);
      const node = pod("client").node;
      const calls = [
        call(web, "tcp", 8080, "new"),
        call(web, "tcp", 8080, "est,rpl"),
        ...backends.map((b) => call(vip, "udp", 53, "new", `${b.ips[4] ?? ""}:53`)),
        { ...call(web, "tcp", 80, "new"), microflow: "inport == && garbage" },
        { ...call(web, "tcp", 80, "new"), datapath: "no-such-datapath" },
      ];
      const got = await Promise.all(calls.map((c) => pool.trace(sb(node), c, 30_000)));
      for (const [i, c] of calls.entries()) {
        expect(got[i]?.exitCode, got[i]?.stderr).toBe(0);
        expect(got[i]?.stdout, `call ${String(i)}`).toBe(await oneShot(node, c));
      }
      // the backends differ, so the load balancer's choice was each call's own
      expect(new Set(got.slice(2, 2 + backends.length).map((r) => r.stdout)).size).toBe(backends.length);
      // one daemon per (ct, lb-dst) pair: new, est+rpl, one per backend
      expect(pool.counts.daemons).toBe(2 + backends.length);
    } finally {
      await pool.close();
    }
  });

  it("serves a zone by default only when its SB is big enough for a daemon to pay off", () => {
    const small = sb(pod("client").node);
    expect(statSync(small.slice("unix:".length).replace(/\.sock$/, ".db")).size).toBeLessThan(
      AUTO_MIN_SB_BYTES,
    );
    expect(new OvnTraceDaemons(runRoot(state.dir)).serves(small)).toBe(false);
    expect(new OvnTraceDaemons(runRoot(state.dir), "always").serves(small)).toBe(true);
    expect(new OvnTraceDaemons(runRoot(state.dir), "never").serves(small)).toBe(false);
  });

  it("stays exact past the traces a daemon can serve, and replaces one that a trace killed", async () => {
    const root = runRoot(state.dir);
    const pool = new OvnTraceDaemons(root, "always");
    try {
      const c = call(pod("web").ips[4] ?? "", "tcp", 8080, "new");
      const node = pod("client").node;
      const want = await oneShot(node, c);
      for (let i = 0; i < 70; i++)
        expect((await pool.trace(sb(node), c, 30_000)).stdout, `trace ${String(i)}`).toBe(want);
      expect(pool.counts.daemons).toBeGreaterThanOrEqual(3);
      // ovn-trace fails an assertion on an unknown logical port: the daemon dies, the error says why
      const dead = await pool.trace(
        sb(node),
        { ...c, microflow: c.microflow.replace(pod("client").lsp, "no_such_port") },
        30_000,
      );
      expect(dead.exitCode).not.toBe(0);
      expect(dead.stderr).toMatch(/assertion|closed|unknown logical port/);
      expect((await pool.trace(sb(node), c, 30_000)).stdout).toBe(want);
      // while it runs, its daemons run under the lab's directory (where lab down would find strays)
      expect(processesUnder(root).length).toBeGreaterThan(0);
    } finally {
      await pool.close();
    }
    expect(processesUnder(root)).toEqual([]);
    expect(existsSync(root)).toBe(false);
  });

  it("whole traces are the same with daemons as with a process per trace", async () => {
    const targets: TraceTarget[] = [
      {
        src: { kind: "pod", namespace: "default", name: "client" },
        dst: { kind: "pod", namespace: "default", name: "web" },
        protocol: "tcp",
        dstPort: 8080,
      },
      {
        src: { kind: "pod", namespace: "default", name: "client" },
        dst: { kind: "pod", namespace: "default", name: "web" },
        protocol: "tcp",
        dstPort: 80,
      },
      {
        src: { kind: "pod", namespace: "default", name: "client" },
        dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
        protocol: "udp",
        dstPort: 53,
      },
      {
        src: { kind: "pod", namespace: "default", name: "client" },
        dst: { kind: "ip", ip: "198.51.100.7" },
        protocol: "udp",
        dstPort: 443,
      },
    ];
    for (const t of targets) {
      const runs = [];
      for (const policy of ["always", "never"] as const) {
        const b = new LabBackend(state, policy);
        try {
          runs.push(comparableRun(await runTraces(b, await resolveTarget(b, t), { allBackends: true })));
        } finally {
          await b.close();
        }
      }
      expect(runs[0], JSON.stringify(t.dst)).toEqual(runs[1]);
    }
    expect(processesUnder(join(state.dir, "ovn-trace"))).toEqual([]);
  });
});
