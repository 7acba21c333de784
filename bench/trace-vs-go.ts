// The full bidirectional pod-to-pod trace (ovn-trace in every zone, ofproto/trace on every node,
// ovn-detrace) with our tool, against the Go ovnkube-trace's own sequence of commands (the exact
// execs it runs, one after another, each through `bash -c` in the ovnkube-node pod), both through
// the same Kubernetes API (the test API server) on the same lab, in one run.
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { KubeBackend } from "../src/backends/kube/backend.js";
import { LabBackend } from "../src/backends/lab/backend.js";
import { backupScript } from "../src/cluster/node-databases.js";
import { resolveTarget } from "../src/engine/resolve.js";
import { runTraces } from "../src/engine/trace.js";
import { EXAMPLES_DIR } from "../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../src/lab/lab.js";
import { labLayout } from "../src/lab/layout.js";
import { loadScenarioFile } from "../src/lab/load-scenario.js";
import { startTestApiServer, type TestApiServer } from "../test/k8s-api/server.js";

import { median } from "./ovsdb-load.js";

/** The commands the Go tool runs for `-src client -dst web -tcp -dst-port 8080` (HEAD, interconnect), in its order. */
function goSequence(s: LabState): { node: string; script: string; stdinFrom?: number }[] {
  const pod = (name: string) => {
    const p = s.cluster.pods.find((x) => x.name === name);
    if (p === undefined) throw new Error(name);
    return p;
  };
  const node = (name: string) => {
    const n = s.cluster.nodes.find((x) => x.name === name);
    if (n === undefined) throw new Error(name);
    return n;
  };
  const a = pod("client");
  const b = pod("web");
  const na = node(a.node);
  const nb = node(b.node);
  const perPod = (p: typeof a) => [
    `ovn-sbctl --bare --no-heading --column=mac list Port_Binding rtos-${p.node}`,
    `ovn-sbctl --bare --no-heading --column=mac list Port_Binding rtots-${p.node}`,
    "ovs-vsctl get Interface ovn-k8s-mp0 ofport",
    `ovs-vsctl --columns name,ofport find interface external_ids:iface-id=${p.lsp}`,
    "ovn-sbctl --bare --no-heading --column=logical_port find Port_Binding options:network_name=physnet",
  ];
  const trace = (from: typeof a, to: typeof a, fromNode: typeof na, toNode: typeof na) => [
    {
      node: from.node,
      script: `ovn-trace ${from.node} 'inport=="${from.lsp}" && eth.src==${from.mac} && eth.dst==${fromNode.gatewayMac} && ip4.src==${from.ips[4] ?? ""} && ip4.dst==${to.ips[4] ?? ""} && ip.ttl==64 && tcp.dst==8080 && tcp.src==52888'`,
    },
    {
      node: to.node,
      script: `ovn-trace 'inport=="tstor-${from.node}" && eth.src==${from.mac} && eth.dst==${toNode.transitMac} && ip4.src==${from.ips[4] ?? ""} && ip4.dst==${to.ips[4] ?? ""} && ip.ttl==64 && tcp.dst==8080 && tcp.src==52888'`,
    },
  ];
  const ofproto = (from: typeof a, to: typeof a, fromNode: typeof na) => ({
    node: from.node,
    script: `ovs-appctl ofproto/trace br-int "in_port=${from.iface}, tcp, dl_src=${from.mac}, dl_dst=${fromNode.gatewayMac}, nw_src=${from.ips[4] ?? ""}, nw_dst=${to.ips[4] ?? ""}, nw_ttl=64, tcp_dst=8080, tcp_src=12345"`,
  });
  const steps: { node: string; script: string; stdinFrom?: number }[] = [
    ...perPod(a).map((script) => ({ node: a.node, script })),
    ...perPod(b).map((script) => ({ node: b.node, script })),
    { node: a.node, script: "ovn-nbctl get-connection" },
    ...trace(a, b, na, nb),
    ...trace(b, a, nb, na),
  ];
  steps.push(ofproto(a, b, na));
  const fwdOf = steps.length - 1;
  steps.push(ofproto(b, a, nb));
  const revOf = steps.length - 1;
  steps.push({ node: a.node, script: "if type -p ovn-detrace >/dev/null 2>&1; then echo 'true' ; fi" });
  steps.push({
    node: a.node,
    script: 'ovn-detrace --ovnnb="$OVN_NB_DB" --ovnsb="$OVN_SB_DB" --ovsdb=unix:"$OVS_RUNDIR"/db.sock',
    stdinFrom: fwdOf,
  });
  steps.push({
    node: b.node,
    script: 'ovn-detrace --ovnnb="$OVN_NB_DB" --ovnsb="$OVN_SB_DB" --ovsdb=unix:"$OVS_RUNDIR"/db.sock',
    stdinFrom: revOf,
  });
  return steps;
}

async function serve(s: LabState): Promise<TestApiServer> {
  const objects = JSON.parse(readFileSync(labLayout(s.dir).kubernetesFile, "utf8")) as {
    items: Record<string, unknown>[];
  };
  return startTestApiServer({
    objects,
    exec: async (req) => {
      const podObj = objects.items.find(
        (i) => i.kind === "Pod" && (i.metadata as { name: string }).name === req.pod,
      );
      const node = (podObj?.spec as { nodeName: string }).nodeName;
      const r = await runOnNode(s, node, req.command, 30_000, req.stdin?.toString());
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
  });
}

/** Our whole trace on the lab (no API in between) against the sum of the raw tool runs it is made of. */
async function overheadOnLab(state: LabState, runs: number): Promise<{ oursMs: number; rawMs: number }> {
  const ours: number[] = [];
  const raw: number[] = [];
  for (let i = 0; i < runs; i++) {
    const b = new LabBackend(state);
    const t = performance.now();
    const r = await resolveTarget(b, {
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod", namespace: "default", name: "web" },
      protocol: "tcp",
      dstPort: 8080,
    });
    const reports = await runTraces(b, r);
    ours.push(performance.now() - t);
    const hops = reports.flatMap((x) => [...x.forward.hops, ...(x.reply?.hops ?? [])]);
    let sum = 0;
    const time = async (node: string, argv: readonly string[]): Promise<void> => {
      const t1 = performance.now();
      await runOnNode(state, node, argv, 60_000);
      sum += performance.now() - t1;
    };
    for (const h of hops) await time(h.node, h.command);
    // the native detrace reads each zone's NB and SB once
    for (const node of new Set(hops.filter((h) => h.detrace !== undefined).map((h) => h.node))) {
      await time(node, ["sh", "-c", backupScript("NB")]);
      await time(node, ["sh", "-c", backupScript("SB")]);
    }
    raw.push(sum);
  }
  return { oursMs: median(ours), rawMs: median(raw) };
}

export async function benchTraceVsGo(runs = 5): Promise<{
  oursMs: number;
  goMs: number;
  goExecs: number;
  oursExecs: number;
  labOursMs: number;
  rawMs: number;
}> {
  const dir = mkdtempSync("/tmp/otl-bench-");
  const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), dir);
  const server = await serve(state);
  const kcDir = mkdtempSync("/tmp/otl-bench-kc-");
  try {
    const kubeconfig = server.writeKubeconfig(kcDir);
    const ours: number[] = [];
    const go: number[] = [];
    let oursExecs = 0;
    let goExecs = 0;
    for (let i = 0; i < runs; i++) {
      // ours: a fresh backend each run (no cache carried over), resolution + both directions + detrace
      const before = server.requests.length;
      let t = performance.now();
      const b = new KubeBackend({ kubeconfig });
      const r = await resolveTarget(b, {
        src: { namespace: "default", name: "client" },
        dst: { kind: "pod", namespace: "default", name: "web" },
        protocol: "tcp",
        dstPort: 8080,
      });
      await runTraces(b, r);
      ours.push(performance.now() - t);
      oursExecs = server.requests.slice(before).filter((q) => q.ws).length;
      // the Go tool's sequence: its API reads, then its execs one after another
      const before2 = server.requests.length;
      t = performance.now();
      const g = new KubeBackend({ kubeconfig });
      const ns =
        (await g.listPods(undefined, { labelSelector: "app=ovnkube-node" }))[0]?.metadata?.namespace ?? "";
      for (const name of ["client", "web"]) {
        await g.readPod("default", name);
        await g.listPods(ns);
      }
      const outputs: string[] = [];
      for (const step of goSequence(state)) {
        const stdin = step.stdinFrom === undefined ? undefined : outputs[step.stdinFrom];
        const res = await g.execOnNode(
          step.node,
          ["bash", "-c", step.script],
          stdin === undefined ? {} : { stdin },
        );
        outputs.push(res.stdout);
      }
      go.push(performance.now() - t);
      goExecs = server.requests.slice(before2).filter((q) => q.ws).length;
    }
    const lab = await overheadOnLab(state, runs);
    return {
      oursMs: median(ours),
      goMs: median(go),
      goExecs,
      oursExecs,
      labOursMs: lab.oursMs,
      rawMs: lab.rawMs,
    };
  } finally {
    await server.close();
    await labDown(dir);
    rmSync(kcDir, { recursive: true, force: true });
  }
}

if (process.argv[1]?.endsWith("trace-vs-go.ts") === true) {
  const r = await benchTraceVsGo(Number(process.argv[2] ?? 5));
  console.log(`full bidirectional trace, pod->pod across nodes (interconnect lab, via the Kubernetes API):`);
  console.log(
    `  ovnkube-trace (TS): ${r.oursMs.toFixed(0)} ms median, ${r.oursExecs} execs, OpenFlow traced on every node`,
  );
  console.log(
    `  Go tool's sequence: ${r.goMs.toFixed(0)} ms median, ${r.goExecs} execs, OpenFlow on the source node only`,
  );
  console.log(`  ratio (Go / ours): ${(r.goMs / r.oursMs).toFixed(2)}x`);
  console.log(
    `on the lab directly: ours ${r.labOursMs.toFixed(0)} ms vs the sum of the raw tool runs ${r.rawMs.toFixed(0)} ms (ratio ${(r.labOursMs / r.rawMs).toFixed(2)})`,
  );
}
