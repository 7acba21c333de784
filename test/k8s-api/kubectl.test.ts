import { spawn } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { newLabDir } from "../helpers/lab.js";
import { serveLab } from "../helpers/serve-lab.js";
import type { ExecRequest, RecordedRequest, TestApiServer } from "./server.js";

/**
 * The test API server is a drop-in for a real one: a real kubectl (Debian's `kubernetes-client`,
 * which scripts/install-deps.sh installs, or $KUBECTL) reads the lab through it over TLS with a
 * bearer token, prints server-side Tables, describes, execs into the lab's nodes (SPDY, and
 * WebSocket for kubectl >= 1.30) and asks for access reviews.
 */
const KUBECTL = process.env.KUBECTL ?? "kubectl";

type Obj = Record<string, unknown> & {
  kind: string;
  metadata: { name: string; namespace?: string; labels?: Record<string, string> };
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
};

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Splits a kubectl table line into cells (columns are separated by at least two spaces or a tab). */
const cells = (line: string): string[] => line.trim().split(/ {2,}|\t/);

function tableOf(text: string): { header: string[]; rows: string[][] } {
  const [header = "", ...rows] = text.split("\n").filter((l) => l.trim() !== "");
  return { header: cells(header), rows: rows.map(cells) };
}

describe(`a real kubectl (${KUBECTL}) against the test API server serving a lab`, () => {
  let state: LabState;
  let server: TestApiServer;
  let scratch: string;
  let kubeconfig: string;
  let objects: Obj[];
  const execs: ExecRequest[] = [];

  function run(
    args: readonly string[],
    opts: { env?: Record<string, string>; input?: string } = {},
  ): Promise<Run> {
    const env: Record<string, string | undefined> = { ...process.env, HOME: scratch, ...opts.env };
    delete env.KUBECONFIG;
    if (opts.env?.KUBECTL_REMOTE_COMMAND_WEBSOCKETS === undefined)
      delete env.KUBECTL_REMOTE_COMMAND_WEBSOCKETS;
    return new Promise((resolve, reject) => {
      const child = spawn(
        KUBECTL,
        [`--kubeconfig=${kubeconfig}`, `--cache-dir=${join(scratch, "cache")}`, ...args],
        {
          env,
          stdio: [opts.input === undefined ? "ignore" : "pipe", "pipe", "pipe"],
        },
      );
      let stdout = "";
      let stderr = "";
      const timer = setTimeout(() => child.kill("SIGKILL"), 50_000);
      child.stdout?.on("data", (b: Buffer) => (stdout += b.toString()));
      child.stderr?.on("data", (b: Buffer) => (stderr += b.toString()));
      child.stdin?.end(opts.input);
      child.on("error", (error) => {
        clearTimeout(timer);
        reject(error);
      });
      child.on("close", (code) => {
        clearTimeout(timer);
        resolve({ code, stdout, stderr });
      });
    });
  }

  const pods = (): Obj[] => objects.filter((o) => o.kind === "Pod");
  const pod = (name: string): Obj => {
    const found = pods().find((p) => p.metadata.name === name);
    if (found === undefined) throw new Error(`the lab has no pod ${name}`);
    return found;
  };
  /** The ovnkube-node pod on the node of `web`: execs into it run in that lab node. */
  const ovnkubeNode = (): Obj => {
    const found = pods().find(
      (p) => p.metadata.labels?.app === "ovnkube-node" && p.spec?.nodeName === pod("web").spec?.nodeName,
    );
    if (found === undefined) throw new Error("the lab has no ovnkube-node pod on web's node");
    return found;
  };
  const lastExec = (): RecordedRequest | undefined =>
    server.requests.filter((r) => r.ws && r.path.endsWith("/exec")).at(-1);
  /** kubectl 1.30 and later exec over WebSocket (v5) unless told not to; earlier ones over SPDY. */
  const defaultUpgrade = (r: RecordedRequest | undefined): string => {
    const minor = Number(/^kubectl\/v1\.(\d+)\./.exec(r?.userAgent ?? "")?.[1] ?? "0");
    return minor >= 30 ? "websocket" : "SPDY/3.1";
  };

  beforeAll(async () => {
    const version = await new Promise<Run>((resolve, reject) => {
      const child = spawn(KUBECTL, ["version", "--client"], { stdio: ["ignore", "pipe", "pipe"] });
      let stdout = "";
      child.stdout.on("data", (b: Buffer) => (stdout += b.toString()));
      child.on("error", (error) => {
        reject(
          new Error(
            `cannot run ${KUBECTL}: install Debian's kubernetes-client (scripts/install-deps.sh) or set $KUBECTL`,
            { cause: error },
          ),
        );
      });
      child.on("close", (code) => {
        resolve({ code, stdout, stderr: "" });
      });
    });
    expect(version.stdout).toMatch(/Client Version/);
    state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "interconnect"), newLabDir())).state;
    objects = (JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as { items: Obj[] })
      .items;
    // The server is read-only: nobody may delete, which `auth can-i` must report.
    server = await serveLab(state, { recordExecs: execs, forbid: (r) => r.verb === "delete" });
    scratch = newLabDir();
    kubeconfig = server.writeKubeconfig(scratch);
  });

  afterAll(async () => {
    await server.close();
    await labDown(state.dir);
  });

  it("lists every pod of the lab with `get pods -A -o wide`, columns from the server's Table", async () => {
    const r = await run(["get", "pods", "-A", "-o", "wide"]);
    expect(r.code, r.stderr).toBe(0);
    const table = tableOf(r.stdout);
    expect(table.header).toEqual([
      "NAMESPACE",
      "NAME",
      "READY",
      "STATUS",
      "RESTARTS",
      "AGE",
      "IP",
      "NODE",
      "NOMINATED NODE",
      "READINESS GATES",
    ]);
    const expected = pods()
      .map((p): string[] => {
        const status = p.status as { phase: string; podIP: string };
        const spec = p.spec as { containers: unknown[]; nodeName: string };
        return [
          p.metadata.namespace ?? "",
          p.metadata.name,
          `0/${spec.containers.length}`, // the lab's pods carry no containerStatuses
          status.phase,
          "0",
          status.podIP,
          spec.nodeName,
          "<none>",
          "<none>",
        ];
      })
      .sort((a, b) => {
        const [x, y] = [`${a[0] ?? ""}/${a[1] ?? ""}`, `${b[0] ?? ""}/${b[1] ?? ""}`];
        return x < y ? -1 : x > y ? 1 : 0;
      });
    const rows = table.rows.map(([ns, name, ready, phase, restarts, age, ...wide]) => {
      expect(age).toMatch(/^(\d+[smhdy])+$/);
      return [ns, name, ready, phase, restarts, ...wide];
    });
    expect(rows).toEqual(expected);
    expect(rows).toContainEqual([
      "default",
      "web",
      "0/1",
      "Running",
      "0",
      "10.244.2.4",
      "ovn-worker2",
      "<none>",
      "<none>",
    ]);
    expect(server.requests).toContainEqual(
      expect.objectContaining({ method: "GET", path: "/api/v1/pods", status: 200 }),
    );
  });

  it("resolves the short names po, svc and netpol in `get po,svc,netpol -n default`", async () => {
    const r = await run(["get", "po,svc,netpol", "-n", "default"]);
    expect(r.code, r.stderr).toBe(0);
    const sections = r.stdout.split("\n\n").map(tableOf);
    expect(sections.map((s) => s.header)).toEqual([
      ["NAME", "READY", "STATUS", "RESTARTS", "AGE"],
      ["NAME", "TYPE", "CLUSTER-IP", "EXTERNAL-IP", "PORT(S)", "AGE"],
      ["NAME", "POD-SELECTOR", "AGE"],
    ]);
    const inDefault = (kind: string): Obj[] =>
      objects.filter((o) => o.kind === kind && o.metadata.namespace === "default");
    const names = (s: { rows: string[][] } | undefined): (string | undefined)[] =>
      (s?.rows ?? []).map((row) => row[0]);
    expect(names(sections[0])).toEqual(
      inDefault("Pod")
        .map((p) => `pod/${p.metadata.name}`)
        .sort(),
    );
    expect(names(sections[1])).toEqual(
      inDefault("Service")
        .map((s) => `service/${s.metadata.name}`)
        .sort(),
    );
    expect(names(sections[2])).toEqual(
      inDefault("NetworkPolicy")
        .map((p) => `networkpolicy.networking.k8s.io/${p.metadata.name}`)
        .sort(),
    );
    expect(sections[1]?.rows.find((row) => row[0] === "service/web")?.slice(0, 5)).toEqual([
      "service/web",
      "NodePort",
      "10.96.100.80",
      "<none>",
      "80:30080/TCP",
    ]);
    expect(sections[2]?.rows.map((row) => row.slice(0, 2))).toContainEqual([
      "networkpolicy.networking.k8s.io/allow-8080",
      "app=web",
    ]);
  });

  it("describes pod web, with its (empty) events", async () => {
    const r = await run(["describe", "pod", "web", "-n", "default"]);
    expect(r.code, r.stderr).toBe(0);
    const web = pod("web");
    const hostIP = (web.status as { hostIP: string }).hostIP;
    expect(r.stdout).toMatch(/^Name:\s+web$/m);
    expect(r.stdout).toMatch(/^Namespace:\s+default$/m);
    expect(r.stdout).toMatch(
      new RegExp(`^Node:\\s+${String(web.spec?.nodeName)}/${hostIP.replaceAll(".", "\\.")}$`, "m"),
    );
    expect(r.stdout).toMatch(/^Labels:\s+app=web$/m);
    expect(r.stdout).toMatch(/^IP:\s+10\.244\.2\.4$/m);
    expect(r.stdout).toMatch(/^Containers:\n {2}web:\n/m);
    expect(r.stdout).toMatch(/^Events:\s+<none>$/m);
    const events = server.requests.filter((q) => q.path === "/api/v1/namespaces/default/events");
    expect(events.at(-1)?.status).toBe(200);
    expect(events.at(-1)?.query.fieldSelector?.[0]).toContain("involvedObject.name=web");
  });

  describe.each([
    ["kubectl's default", {}],
    ["SPDY", { KUBECTL_REMOTE_COMMAND_WEBSOCKETS: "false" }],
  ] as const)("exec into an ovnkube-node pod (%s protocol)", (protocol, env) => {
    const execArgs = (...command: string[]): string[] => {
      const p = ovnkubeNode();
      return [
        "exec",
        "-n",
        p.metadata.namespace ?? "",
        p.metadata.name,
        "-c",
        "ovnkube-controller",
        "--",
        ...command,
      ];
    };
    const expectUpgrade = (): void => {
      const r = lastExec();
      expect(r?.status).toBe(101);
      expect(r?.upgrade).toBe(protocol === "SPDY" ? "SPDY/3.1" : defaultUpgrade(r));
    };

    it("runs ovs-vsctl in the pod's node: br-exists br-int exits 0", async () => {
      const r = await run(execArgs("ovs-vsctl", "br-exists", "br-int"), { env });
      expect(r.code, r.stderr).toBe(0);
      expectUpgrade();
      const p = ovnkubeNode();
      expect(execs.at(-1)).toEqual({
        namespace: p.metadata.namespace,
        pod: p.metadata.name,
        container: "ovnkube-controller",
        command: ["ovs-vsctl", "br-exists", "br-int"],
      });
    });

    it("propagates a non-zero exit: br-exists of a missing bridge exits 2", async () => {
      const r = await run(execArgs("ovs-vsctl", "br-exists", "br-nope"), { env });
      expect(r.code).toBe(2);
      expect(r.stderr).toContain("command terminated with exit code 2");
      expectUpgrade();
    });

    it("delivers stdout and stdin", async () => {
      const listed = await run(execArgs("ovs-vsctl", "list-br"), { env });
      expect(listed.code, listed.stderr).toBe(0);
      expect(listed.stdout.split("\n")).toContain("br-int");
      const echoed = await run(["exec", "-i", ...execArgs("cat").slice(1)], {
        env,
        input: "through stdin\n",
      });
      expect(echoed.code, echoed.stderr).toBe(0);
      expect(echoed.stdout).toBe("through stdin\n");
      expectUpgrade();
    });
  });

  it("answers `auth can-i` from the server's access review", async () => {
    const yes = await run(["auth", "can-i", "get", "pods"]);
    expect([yes.code, yes.stdout.trim()]).toEqual([0, "yes"]);
    const no = await run(["auth", "can-i", "delete", "pods", "-n", "kube-system"]);
    expect([no.code, no.stdout.trim()]).toEqual([1, "no"]);
    const reviews = server.requests.filter(
      (r) => r.path === "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
    );
    expect(reviews.map((r) => [r.method, r.status])).toEqual([
      ["POST", 201],
      ["POST", 201],
    ]);
  });

  it("is refused with another token, and does not trust the server without the kubeconfig's CA", async () => {
    const yaml = readFileSync(kubeconfig, "utf8");
    const dir = join(scratch, "bad");
    mkdirSync(dir, { recursive: true });
    const variant = (name: string, text: string): string => {
      expect(text).not.toBe(yaml);
      const path = join(dir, name);
      writeFileSync(path, text, { mode: 0o600 });
      return path;
    };
    // (A user with no credentials at all would make kubectl prompt for a basic-auth username.)
    const wrongToken = variant("wrong-token", yaml.replace(/\n( {4}token:) .*/g, '\n$1 "not-the-lab-token"'));
    const noCa = variant("no-ca", yaml.replace(/\n {4}certificate-authority-data: .*/g, ""));
    const before = server.requests.length;
    const unauthorized = await run(["get", "pods", `--kubeconfig=${wrongToken}`]);
    expect(unauthorized.code).toBe(1);
    expect(unauthorized.stderr).toMatch(/\(Unauthorized\)/);
    const answered = server.requests.slice(before).map((r) => r.status);
    expect(answered.length).toBeGreaterThan(0);
    expect(answered.every((status) => status === 401)).toBe(true);
    const untrusted = await run(["get", "pods", `--kubeconfig=${noCa}`]);
    expect(untrusted.code).toBe(1);
    expect(untrusted.stderr).toMatch(
      /x509: certificate signed by unknown authority|failed to verify certificate/,
    );
  });
});
