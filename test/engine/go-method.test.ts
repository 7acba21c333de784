import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { findNode, labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { findPod, probe } from "../../src/lab/probe.js";
import { newLabDir } from "../helpers/lab.js";

/**
 * The Go ovnkube-trace runs ofproto/trace on the source node only and calls it a success when the
 * packet is sent into a tunnel. A NetworkPolicy that drops on the destination node fools it; the
 * real packet and our multi-node trace agree that the packet never arrives.
 */
describe.each(["central", "interconnect"] as const)("the Go tool's OpenFlow method vs ours (%s)", (shape) => {
  let state: LabState;
  beforeAll(async () => {
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, shape), newLabDir())).state;
  });
  afterAll(async () => {
    await labDown(state.dir);
  });

  it("TCP 80 to web: the Go method says success, the real packet is dropped, so do we", async () => {
    const client = findPod(state.cluster, "default", "client");
    const web = findPod(state.cluster, "default", "web");
    const gw = findNode(state.cluster, client.node).gatewayMac;
    // the Go tool's command and success rule (its "kernel tunnel" is "native tunnel" on a userspace datapath)
    const flow = `in_port=${client.iface}, tcp, dl_src=${client.mac}, dl_dst=${gw}, nw_src=${client.ips[4] ?? ""}, nw_dst=${web.ips[4] ?? ""}, nw_ttl=64, tcp_dst=80, tcp_src=12345`;
    const go = await runOnNode(state, client.node, ["ovs-appctl", "ofproto/trace", "br-int", flow]);
    expect(go.exitCode).toBe(0);
    expect(go.stdout).toMatch(/-> output to (kernel|native) tunnel/);

    const real = await probe(state, {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    });
    expect(real.verdict.kind).toBe("not-delivered");

    const backend = LabBackend.open(state.dir);
    const r = await resolveTarget(backend, {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 80,
    });
    const [ours] = await runTraces(backend, r, { skipDetrace: true });
    expect(ours?.forward.checks.find((c) => c.tool === "ofproto/trace")?.success).toBe(false);
    expect(ours?.forward.verdict).toMatchObject({ kind: "dropped", node: web.node });
  });
});
