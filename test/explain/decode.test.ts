import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import type { DecodeSources } from "../../src/explain/decode.js";
import { explainOfprotoTrace, explainOvnTrace } from "../../src/explain/explain-trace.js";
import { renderExplanation } from "../../src/app/explain.js";
import { readNodeSources } from "../../src/app/explain-sources.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { Hop, KubeObjectRef, TraceReport } from "../../src/model/report.js";
import type { OvsdbDatabase, OvsdbRow } from "../../src/model/ovsdb.js";
import { macFromIp, parseIp } from "../../src/net/ip.js";
import { newLabDir } from "../helpers/lab.js";
import type { ExplainedTrace } from "../../src/model/explanation.js";
import type { DecodedValue } from "../../src/model/explanation.js";
import type { TraceTarget } from "../../src/model/target.js";

/**
 * The decoded explanation of real lab traces names the right objects. Ground truth: the scenario YAML that
 * created the objects (read here as written), and what ovn-sbctl / ovs-vsctl say in the lab.
 */

interface ScenarioPod {
  namespace: string;
  name: string;
  node: string;
  ips: string[];
  labels?: Record<string, string>;
}
interface ScenarioService {
  namespace: string;
  name: string;
  clusterIPs: string[];
  selector?: Record<string, string>;
  ports: { protocol?: string; port: number; targetPort?: number }[];
}
interface ScenarioPolicy {
  namespace: string;
  name: string;
  podSelector: { matchLabels: Record<string, string> };
  policyTypes: string[];
  ingress?: { ports?: { protocol: string; port: number }[] }[];
  egress?: { ports?: { protocol: string; port: number }[] }[];
}
interface Scenario {
  pods: ScenarioPod[];
  services: ScenarioService[];
  networkPolicies: ScenarioPolicy[];
}

const scenario = (file: string): Scenario =>
  parse(readFileSync(`${EXAMPLES_DIR}${file}`, "utf8")) as Scenario;

const pod = (s: Scenario, name: string): ScenarioPod => {
  const p = s.pods.find((x) => x.name === name);
  if (p === undefined) throw new Error(`no pod ${name} in the scenario`);
  return p;
};
const service = (s: Scenario, name: string): ScenarioService => {
  const x = s.services.find((v) => v.name === name);
  if (x === undefined) throw new Error(`no service ${name} in the scenario`);
  return x;
};
/** The NetworkPolicies of the scenario whose pod selector selects the pod, for a policy type. */
const policiesOf = (s: Scenario, p: ScenarioPod, type: "Ingress" | "Egress"): ScenarioPolicy[] =>
  s.networkPolicies.filter(
    (np) =>
      np.namespace === p.namespace &&
      np.policyTypes.includes(type) &&
      Object.entries(np.podSelector.matchLabels).every(([k, v]) => p.labels?.[k] === v),
  );

const allValues = (e: ExplainedTrace): DecodedValue[] => e.lines.flatMap((l) => l.values);
const hasObject = (objects: readonly KubeObjectRef[] | undefined, o: KubeObjectRef): boolean =>
  (objects ?? []).some((x) => x.kind === o.kind && x.name === o.name && x.namespace === o.namespace);

interface Lab {
  state: LabState;
  backend: LabBackend;
  sources: Map<string, Promise<DecodeSources>>;
}

async function startLab(file: string): Promise<Lab> {
  const state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}${file}`, "interconnect"), newLabDir())).state;
  return { state, backend: LabBackend.open(state.dir), sources: new Map() };
}

function sourcesOf(lab: Lab, node: string): Promise<DecodeSources> {
  let p = lab.sources.get(node);
  if (p === undefined) {
    p = readNodeSources(lab.backend, node).then((r) => {
      expect(r.missing).toEqual([]);
      return r.sources;
    });
    lab.sources.set(node, p);
  }
  return p;
}

async function sh(lab: Lab, node: string, argv: string[]): Promise<string> {
  const r = await runOnNode(lab.state, node, argv);
  expect(r.stderr).toBe("");
  return r.stdout.trim();
}

const sbKey = async (lab: Lab, node: string, table: string, cond: string): Promise<number> =>
  Number(await sh(lab, node, ["ovn-sbctl", "--bare", "--columns=tunnel_key", "find", table, cond]));

async function reportOf(lab: Lab, target: TraceTarget): Promise<TraceReport> {
  const [r] = await runTraces(lab.backend, await resolveTarget(lab.backend, target), { skipDetrace: true });
  if (r === undefined) throw new Error("no report");
  return r;
}

const ofprotoHops = (r: TraceReport): Hop[] => r.forward.hops.filter((h) => h.tool === "ofproto/trace");
const lastOfprotoHop = (r: TraceReport): Hop => {
  const h = ofprotoHops(r).at(-1);
  if (h === undefined) throw new Error("no ofproto/trace hop");
  return h;
};

async function explainHop(lab: Lab, h: Hop): Promise<ExplainedTrace> {
  const s = await sourcesOf(lab, h.node);
  return h.tool === "ofproto/trace" ? explainOfprotoTrace(h.output, s) : explainOvnTrace(h.output, s);
}

const CT = Array.from({ length: 4 }, () => ["--ct-next", "trk,new"]).flat();

/** A real ofproto/trace of a pod's packet on its node, from its OVS interface. */
async function traceFromPod(lab: Lab, p: ScenarioPod, flow: string): Promise<string> {
  const iface = await sh(lab, p.node, [
    "ovs-vsctl",
    "--bare",
    "--columns=name",
    "find",
    "interface",
    `external_ids:iface-id=${p.namespace}_${p.name}`,
  ]);
  const r = await runOnNode(lab.state, p.node, [
    "ovs-appctl",
    "ofproto/trace",
    "br-int",
    `in_port=${iface},${flow}`,
    ...CT,
  ]);
  expect(r.exitCode).toBe(0);
  return r.stdout;
}

describe("explain: lab traces of examples/kind.yaml (interconnect)", () => {
  const s = scenario("kind.yaml");
  const client = pod(s, "client");
  const web = pod(s, "web");
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab("kind.yaml");
  });
  afterAll(async () => {
    await labDown(lab.state.dir);
  });

  it("a drop by the allow-8080 policy names the NetworkPolicy that selects the pod, in both traces", async () => {
    const [policy] = policiesOf(s, web, "Ingress");
    if (policy === undefined) throw new Error("the scenario has no ingress policy for web");
    const np = { kind: "NetworkPolicy", namespace: policy.namespace, name: policy.name };
    const allowed = policy.ingress?.[0]?.ports?.[0];
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 80,
    });
    const hop = lastOfprotoHop(r);
    expect(hop.node).toBe(web.node);
    const e = await explainHop(lab, hop);
    expect(e.summary.verdict.kind).toBe("dropped");
    expect(hasObject(e.summary.verdict.objects, np)).toBe(true);
    expect(e.summary.verdict.text).toContain(`${allowed?.protocol ?? "?"} ${String(allowed?.port)}`);
    expect(e.summary.verdict.text).toContain(`pod ${web.namespace}/${web.name}`);
    // the cookie of the dropping ACL stage is named too
    expect(
      allValues(e).some(
        (v) => v.field === "cookie" && /ingress default deny of namespace default/.test(v.meaning),
      ),
    ).toBe(true);
    // the logical trace of the destination zone, explained from its stages' uuids
    const logical = r.forward.hops.filter((h) => h.tool === "ovn-trace").at(-1);
    if (logical === undefined) throw new Error("no ovn-trace hop");
    const l = await explainHop(lab, logical);
    expect(l.summary.verdict.kind).toBe("dropped");
    expect(hasObject(l.summary.verdict.objects, np)).toBe(true);
  });

  it("the allowed port passes the policy's allow ACL: its cookie names the NetworkPolicy rule", async () => {
    const [policy] = policiesOf(s, web, "Ingress");
    const port = policy?.ingress?.[0]?.ports?.[0]?.port ?? 0;
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: port,
    });
    const e = await explainHop(lab, lastOfprotoHop(r));
    expect(e.summary.verdict.kind).toBe("delivered");
    const rule = allValues(e).find((v) => v.field === "cookie" && v.meaning.includes("NetworkPolicy"));
    expect(rule?.meaning).toContain(
      `NetworkPolicy ${policy?.namespace ?? ""}/${policy?.name ?? ""}, ingress rule 0`,
    );
  });

  it("decodes in_port, metadata, reg14, reg13 and the tunnel of the source hop as ovs-vsctl and ovn-sbctl say", async () => {
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 80,
    });
    const [src] = ofprotoHops(r);
    if (src === undefined) throw new Error("no source hop");
    expect(src.node).toBe(client.node);
    const e = await explainHop(lab, src);
    const lsp = `${client.namespace}_${client.name}`;
    const [ifName, ofport] = (
      await sh(lab, client.node, [
        "ovs-vsctl",
        "--bare",
        "--columns=name,ofport",
        "find",
        "interface",
        `external_ids:iface-id=${lsp}`,
      ])
    ).split(/\s+/);
    expect(e.summary.inPort).toMatchObject({ field: "in_port", raw: ofport, known: true });
    expect(e.summary.inPort?.meaning).toContain(
      `interface ${ifName ?? "?"} (port ${lsp}, pod ${client.namespace}/${client.name})`,
    );
    const values = allValues(e);
    const dpKey = await sbKey(lab, client.node, "datapath_binding", `external_ids:name=${client.node}`);
    const md = values.find((v) => v.field === "metadata" && v.raw === `0x${dpKey.toString(16)}`);
    expect(md?.meaning).toBe(`logical switch ${client.node} (pod switch of node ${client.node})`);
    const portKey = await sbKey(lab, client.node, "port_binding", `logical_port=${lsp}`);
    const reg14 = values.find((v) => v.field === "reg14" && v.raw === `0x${portKey.toString(16)}`);
    expect(reg14?.meaning).toBe(`port ${lsp} (pod ${client.namespace}/${client.name})`);
    const zone = Number(
      (
        await sh(lab, client.node, ["ovs-vsctl", "get", "bridge", "br-int", `external_ids:ct-zone-${lsp}`])
      ).replace(/"/g, ""),
    );
    const reg13 = values.find((v) => v.field === "reg13" && v.raw === `0x${zone.toString(16)}`);
    expect(reg13?.meaning).toBe(`ct zone of port ${lsp} (pod ${client.namespace}/${client.name})`);
    // the tunnel: the transit switch's key, the destination node, tstor-<src> → tstor-<dst>
    const ts = await sbKey(lab, client.node, "datapath_binding", "external_ids:name=transit_switch");
    const [t] = e.summary.tunnels;
    expect(t).toMatchObject({ vni: ts, vniHex: `0x${ts.toString(16)}`, remoteNode: web.node });
    expect(t?.ports?.meaning).toMatch(
      new RegExp(`ingress \\d+ = port tstor-${client.node} .*egress \\d+ = port tstor-${web.node} `),
    );
    expect(e.summary.verdict.kind).toBe("tunnel");
  });

  it("decodes reg15 and the Geneve ports of the destination hop, and delivers to the pod's interface", async () => {
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 8080,
    });
    const hop = lastOfprotoHop(r);
    const e = await explainHop(lab, hop);
    const lsp = `${web.namespace}_${web.name}`;
    const key = await sbKey(lab, web.node, "port_binding", `logical_port=${lsp}`);
    // the same key can also number a port of another datapath on the way (northd allocates keys per
    // datapath, in no fixed order): the pod switch's reg15 must be among the decoded ones, none unknown
    const reg15 = allValues(e).filter((v) => v.field === "reg15" && v.raw === `0x${key.toString(16)}`);
    expect(reg15.map((v) => v.meaning)).toContain(`port ${lsp} (pod ${web.namespace}/${web.name})`);
    expect(reg15.every((v) => v.known)).toBe(true);
    const tsKey = await sbKey(lab, web.node, "datapath_binding", "external_ids:name=transit_switch");
    const tun = allValues(e).find((v) => v.field === "tun_metadata0");
    const srcKey = await sbKey(lab, web.node, "port_binding", `logical_port=tstor-${client.node}`);
    const dstKey = await sbKey(lab, web.node, "port_binding", `logical_port=tstor-${web.node}`);
    expect(tun?.raw).toBe(`0x${(srcKey * 0x10000 + dstKey).toString(16)}`);
    expect(tun?.meaning).toContain(`port tstor-${client.node}`);
    expect(e.summary.datapaths[0]?.raw).toBe(`0x${tsKey.toString(16)}`);
    expect(e.summary.inPort?.meaning).toBe(`tunnel endpoint of node ${client.node}`);
    const ifName = await sh(lab, web.node, [
      "ovs-vsctl",
      "--bare",
      "--columns=name",
      "find",
      "interface",
      `external_ids:iface-id=${lsp}`,
    ]);
    expect(e.summary.verdict).toMatchObject({ kind: "delivered" });
    expect(e.summary.verdict.text).toBe(
      `delivered to interface ${ifName} (port ${lsp}, pod ${web.namespace}/${web.name})`,
    );
  });
});

describe("explain: lab traces of examples/kind-dualstack.yaml (interconnect)", () => {
  const s = scenario("kind-dualstack.yaml");
  const client = pod(s, "client");
  const locked = pod(s, "locked");
  const web = pod(s, "web");
  let lab: Lab;
  beforeAll(async () => {
    lab = await startLab("kind-dualstack.yaml");
  });
  afterAll(async () => {
    await labDown(lab.state.dir);
  });

  it("the locked-egress policy's default deny drops on the source node and is named", async () => {
    const [policy] = policiesOf(s, locked, "Egress");
    if (policy === undefined) throw new Error("the scenario has no egress policy for locked");
    const r = await reportOf(lab, {
      src: locked,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 8080,
    });
    const hop = lastOfprotoHop(r);
    expect(hop.node).toBe(locked.node);
    const e = await explainHop(lab, hop);
    expect(e.summary.verdict.kind).toBe("dropped");
    expect(e.summary.verdict.text).toMatch(/egress default deny/);
    expect(
      hasObject(e.summary.verdict.objects, {
        kind: "NetworkPolicy",
        namespace: policy.namespace,
        name: policy.name,
      }),
    ).toBe(true);
    const allowed = policy.egress?.[0]?.ports?.[0];
    expect(e.summary.verdict.text).toContain(`${allowed?.protocol ?? "?"} ${String(allowed?.port)}`);
  });

  it("kube-dns: the backend is named with its Service, the tunnel goes to the backend's node, delivered to its pod", async () => {
    const svc = service(s, "kube-dns");
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "service", namespace: svc.namespace, name: svc.name },
      protocol: "udp",
      dstPort: 53,
    });
    const hops = ofprotoHops(r);
    const src = hops.find((h) => h.node === client.node && h.outcome.kind === "tunnel");
    if (src === undefined) throw new Error("no source hop into the tunnel");
    const e = await explainHop(lab, src);
    expect(
      hasObject(e.summary.backend?.objects, { kind: "Service", namespace: svc.namespace, name: svc.name }),
    ).toBe(true);
    const backends = s.pods.filter((p) =>
      Object.entries(svc.selector ?? {}).every(([k, v]) => p.labels?.[k] === v),
    );
    const backendIp = e.summary.backend?.raw.split(":")[0];
    const backend = backends.find((p) => p.ips.includes(backendIp ?? ""));
    expect(backend).toBeDefined();
    expect(e.summary.tunnels[0]?.remoteNode).toBe(backend?.node);
    const last = explainOfprotoTrace(lastOfprotoHop(r).output, await sourcesOf(lab, lastOfprotoHop(r).node));
    expect(last.summary.verdict.kind).toBe("delivered");
    expect(
      hasObject(last.summary.verdict.objects, {
        kind: "Pod",
        namespace: backend?.namespace,
        name: backend?.name ?? "",
      }),
    ).toBe(true);
    // the report's summary: the chosen backend with its Service and pod, a tunnel with its VNI both ways
    const sum = r.forward.summary;
    expect(sum?.serviceBackend).toMatchObject({
      service: { kind: "Service", namespace: svc.namespace, name: svc.name },
      vip: `${svc.clusterIPs[0] ?? ""}:53`,
    });
    expect(backends.map((p) => p.name)).toContain(sum?.serviceBackend?.pod?.name);
    const ts = await sbKey(lab, client.node, "datapath_binding", "external_ids:name=transit_switch");
    expect(sum?.tunnels[0]).toMatchObject({ fromNode: client.node, vni: ts, vniHex: `0x${ts.toString(16)}` });
    expect(r.forward.verdict).toMatchObject({
      kind: "delivered",
      service: { kind: "Service", name: svc.name },
    });
  });

  it("the web NodePort service: its ClusterIP load-balances to the web pod, named with the Service", async () => {
    const svc = service(s, "web");
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "service", namespace: svc.namespace, name: svc.name },
      protocol: "tcp",
      dstPort: svc.ports[0]?.port ?? 0,
    });
    const e = await explainHop(
      lab,
      ofprotoHops(r).find((h) => h.node === client.node && h.outcome.kind === "tunnel") ?? lastOfprotoHop(r),
    );
    expect(e.summary.backend?.raw).toBe(`${web.ips[0] ?? ""}:${String(svc.ports[0]?.targetPort)}`);
    expect(e.summary.backend?.meaning).toContain(`backend of Service ${svc.namespace}/${svc.name}`);
    const sum = r.forward.summary;
    expect(sum?.serviceBackend?.pod).toEqual({ kind: "Pod", namespace: web.namespace, name: web.name });
    expect(sum?.destination).toMatchObject({ kind: "pod", name: web.name, node: web.node, ip: web.ips[0] });
    expect(sum?.destination.ofport).toBe(
      Number(
        await sh(lab, web.node, [
          "ovs-vsctl",
          "--bare",
          "--columns=ofport",
          "find",
          "interface",
          `external_ids:iface-id=${web.namespace}_${web.name}`,
        ]),
      ),
    );
  });

  it("the service without endpoints: both traces say its load balancer rejects, naming the Service", async () => {
    const svc = service(s, "no-endpoints");
    const vip = svc.clusterIPs[0] ?? "";
    const ip = parseIp(client.ips[0] ?? "");
    if (ip === undefined) throw new Error("client has no IP");
    const clientMac = macFromIp(ip);
    const mac = (
      await sh(lab, client.node, [
        "ovn-nbctl",
        "--bare",
        "--columns=mac",
        "find",
        "logical_router_port",
        `name=rtos-${client.node}`,
      ])
    ).split(" ")[0];
    const trace = await traceFromPod(
      lab,
      client,
      `tcp,dl_src=${clientMac},dl_dst=${mac ?? ""},nw_src=${client.ips[0] ?? ""},nw_dst=${vip},nw_ttl=64,tcp_src=40000,tcp_dst=${String(svc.ports[0]?.port)}`,
    );
    const want = { kind: "Service", namespace: svc.namespace, name: svc.name };
    const e = explainOfprotoTrace(trace, await sourcesOf(lab, client.node));
    expect(e.summary.verdict.kind).toBe("rejected");
    expect(e.summary.verdict.text).toContain(`Service ${svc.namespace}/${svc.name} has no endpoints`);
    expect(hasObject(e.summary.verdict.objects, want)).toBe(true);
    const ovn = await runOnNode(lab.state, client.node, [
      "ovn-trace",
      "--detailed",
      "--ct=new",
      "--ct=new",
      client.node,
      `inport == "${client.namespace}_${client.name}" && eth.src == ${clientMac} && eth.dst == ${mac ?? ""} && ip4.src == ${client.ips[0] ?? ""} && ip4.dst == ${vip} && ip.ttl == 64 && tcp && tcp.src == 40000 && tcp.dst == ${String(svc.ports[0]?.port)}`,
    ]);
    const o = explainOvnTrace(ovn.stdout, await sourcesOf(lab, client.node));
    expect(o.summary.verdict.kind).toBe("rejected");
    expect(hasObject(o.summary.verdict.objects, want)).toBe(true);
  });

  it("to an external IP: leaves through the node's gateway router with SNAT to the node's IP", async () => {
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "ip", ip: "198.51.100.7" },
      protocol: "tcp",
      dstPort: 443,
    });
    const hop = lastOfprotoHop(r);
    const e = await explainHop(lab, hop);
    const nodeIp = await sh(lab, client.node, [
      "ovn-nbctl",
      "--bare",
      "--columns=external_ip",
      "find",
      "nat",
      "type=snat",
    ]);
    expect(e.summary.verdict.kind).toBe("left-cluster");
    expect(e.summary.snat).toMatchObject({ raw: nodeIp, known: true });
    expect(e.summary.snat?.meaning).toContain(`the IP of node ${client.node}`);
    expect(e.summary.verdict.text).toContain(`gateway router of node ${client.node}`);
    expect(e.summary.datapaths.map((d) => d.meaning)).toContain(
      `logical router GR_${client.node} (gateway router of node ${client.node})`,
    );
    // the report names them too
    expect(r.forward.verdict).toMatchObject({
      kind: "left-cluster",
      snatIp: nodeIp,
      gateway: `gateway router of node ${client.node}`,
    });
    expect(r.forward.summary?.snat?.description).toContain(`the IP of node ${client.node}`);
    // and so does ovn-trace's
    const logical = r.forward.hops.find((h) => h.tool === "ovn-trace");
    if (logical === undefined) throw new Error("no ovn-trace hop");
    const l = await explainHop(lab, logical);
    expect(l.summary.verdict.kind).toBe("left-cluster");
    expect(l.summary.snat?.meaning).toContain(`the IP of node ${client.node}`);
  });

  it("degrades to unknown with the raw value: a cookie with no row, plain OVN, a partial database set", async () => {
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 80,
    });
    const drop = lastOfprotoHop(r);
    const src = ofprotoHops(r)[0];
    if (src === undefined) throw new Error("no source hop");
    const full = await sourcesOf(lab, drop.node);
    const srcSources = await sourcesOf(lab, src.node);

    // a cookie that matches no row
    const bogus = [
      "Flow: tcp,in_port=1,nw_src=10.0.0.1,nw_dst=10.0.0.2",
      "",
      'bridge("br-int")',
      "----------------",
      " 0. in_port=1, priority 100, cookie 0xdeadbeef",
      "    set_field:0x7777->metadata",
      "    set_field:0x3->reg15",
      "    drop",
      "",
      "Final flow: unchanged",
      "Megaflow: recirc_id=0,in_port=1",
      "Datapath actions: drop",
    ].join("\n");
    const b = explainOfprotoTrace(bogus, full);
    const values = allValues(b);
    expect(values.find((v) => v.field === "cookie")).toMatchObject({ raw: "0xdeadbeef", known: false });
    expect(values.find((v) => v.field === "metadata")).toMatchObject({
      raw: "0x7777",
      known: false,
      meaning: "unknown (no Datapath_Binding with tunnel_key 30583)",
    });
    expect(values.find((v) => v.field === "reg15")?.meaning).toMatch(/^unknown \(/);
    expect(b.summary.verdict.kind).toBe("dropped");
    expect(b.summary.verdict.text).toMatch(/no southbound row|no logical flow with uuid deadbeef/);

    // plain OVN: no ovn-kubernetes external_ids anywhere
    const plain: DecodeSources = {
      nb: stripIds(full.nb),
      sb: stripIds(full.sb),
      ...(full.node === undefined ? {} : { node: full.node }),
    };
    const p = explainOfprotoTrace(drop.output, plain);
    const md = allValues(p).find((v) => v.field === "metadata");
    expect(md?.known).toBe(false);
    expect(md?.meaning).toMatch(/^unknown \(Datapath_Binding [0-9a-f]{8} has no name/);
    expect(p.summary.verdict.kind).toBe("dropped");
    expect(p.summary.verdict.objects).toEqual([]);
    expect(p.summary.verdict.text).not.toMatch(/NetworkPolicy/);
    const reg15 = allValues(p).find(
      (v) => v.field === "reg15" && v.meaning.includes(`${web.namespace}_${web.name}`),
    );
    expect(reg15?.meaning).toBe(`port ${web.namespace}_${web.name}`); // the port's name, no pod without external_ids

    // NB missing: ports by name, no pods, the drop reason unknown
    const noNb = explainOfprotoTrace(drop.output, {
      ...(full.sb === undefined ? {} : { sb: full.sb }),
      ...(full.node === undefined ? {} : { node: full.node }),
    });
    expect(noNb.summary.verdict.kind).toBe("dropped");
    expect(noNb.summary.verdict.text).toMatch(/unknown \(0x[0-9a-f]+: the northbound database is missing\)/);
    expect(allValues(noNb).find((v) => v.field === "metadata")?.known).toBe(true);
    // SB missing: datapaths and logical ports unknown with the raw value; the ofport still names the pod
    const noSb = explainOfprotoTrace(src.output, {
      ...(srcSources.nb === undefined ? {} : { nb: srcSources.nb }),
      ...(srcSources.node === undefined ? {} : { node: srcSources.node }),
    });
    const m = allValues(noSb).find((v) => v.field === "metadata");
    expect(m).toMatchObject({ known: false, meaning: "unknown (no southbound database)" });
    expect(m?.raw).toMatch(/^0x[0-9a-f]+$/);
    expect(noSb.summary.inPort?.meaning).toContain(`pod ${client.namespace}/${client.name}`);
    // nothing at all: every value unknown (or an explicit zero), still an explanation
    const none = explainOfprotoTrace(src.output, {});
    expect(allValues(none).length).toBeGreaterThan(10);
    for (const v of allValues(none)) expect(v.known ? v.meaning : "unknown (").toMatch(/^(unknown \(|none)/);
    expect(none.summary.inPort?.meaning).toBe("unknown (the node's OVS database was not read)");
    for (const sources of [plain, {}, { sb: full.sb }, { nb: full.nb }])
      for (const text of [src.output, drop.output])
        expect(renderExplanation({ text, node: "x", format: "decoded", output: "text" }, sources)).toMatch(
          /verdict: /,
        );
    // ovn-trace with no databases at all
    const logical = r.forward.hops.find((h) => h.tool === "ovn-trace");
    const o = explainOvnTrace(logical?.output ?? "", {});
    expect(o.lines.length).toBeGreaterThan(0);
    expect(o.summary.inPort).toMatchObject({ raw: `${client.namespace}_${client.name}`, known: false });
  });

  it("prints the decoded text (summary, detrace annotations, decoded lines) and JSON", async () => {
    const r = await reportOf(lab, {
      src: client,
      dst: { kind: "pod", namespace: web.namespace, name: web.name },
      protocol: "tcp",
      dstPort: 80,
    });
    const hop = lastOfprotoHop(r);
    const sources = await sourcesOf(lab, hop.node);
    const text = renderExplanation(
      { text: hop.output, node: hop.node, format: "decoded", output: "text" },
      sources,
    );
    expect(text).toMatch(new RegExp(`^ofproto/trace on ${hop.node}:\n  in port: `));
    expect(text).toMatch(/^ {2}verdict: {5}dropped in br-int table \d+ \(cookie 0x[0-9a-f]+\): denied by/m);
    expect(text).toMatch(/^ {2}\* Logical flow: table=\d+ \(ls_out_acl/m);
    expect(text).toMatch(/^ +\[reg15=0x[0-9a-f]+ = port default_web \(pod default\/web\)/m);
    const json = JSON.parse(
      renderExplanation({ text: hop.output, node: hop.node, format: "decoded", output: "json" }, sources),
    ) as {
      summary: { verdict: { kind: string } };
      lines: { line: number; text: string; values: DecodedValue[] }[];
      detrace: string;
    };
    expect(json.summary.verdict.kind).toBe("dropped");
    const lines = hop.output.split("\n");
    for (const l of json.lines) expect(lines[l.line - 1]).toBe(l.text);
    expect(json.detrace).toMatch(/\* Logical flow: /);
  });
});

function stripIds(db: OvsdbDatabase | undefined): OvsdbDatabase {
  if (db === undefined) throw new Error("missing database");
  const strip = (rows: Readonly<Record<string, OvsdbRow>>) =>
    Object.fromEntries(
      Object.entries(rows).map(([uuid, row]) => [
        uuid,
        "external_ids" in row.columns ? { ...row, columns: { ...row.columns, external_ids: {} } } : row,
      ]),
    );
  return {
    ...db,
    tables: Object.fromEntries(Object.entries(db.tables).map(([t, rows]) => [t, strip(rows)])),
  };
}
