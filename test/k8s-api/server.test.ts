import { execFile } from "node:child_process";
import { request as httpsRequest } from "node:https";
import { inflateSync, deflateSync, constants as zlibConstants } from "node:zlib";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Readable, Writable } from "node:stream";
import {
  ApiException,
  AuthorizationV1Api,
  CoreV1Api,
  DiscoveryV1Api,
  Exec,
  KubeConfig,
  NetworkingV1Api,
  V1ResourceAttributes,
  V1SelfSubjectAccessReview,
  V1SelfSubjectAccessReviewSpec,
  VersionApi,
  type V1Status,
} from "@kubernetes/client-node";
// Not re-exported by the package index; its socket factory lets a test offer only v4.
import { WebSocketHandler } from "@kubernetes/client-node/dist/web-socket-handler.js";
import { WebSocket } from "ws";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startTestApiServer, type ExecOutcome, type ExecRequest, type TestApiServer } from "./server.js";
import { adler32, HeaderDecoder, HeaderEncoder, SPDY3_DICTIONARY } from "./spdy.js";
import { acceptedTableVersion, humanDuration } from "./tables.js";
import {
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
} from "../../src/cluster/selectors.js";

const TOKEN = "lab-reader-token";

function pod(
  namespace: string,
  name: string,
  node: string,
  labels: Record<string, string>,
  containers: string[],
  phase = "Running",
): Record<string, unknown> {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace, labels, uid: `uid-${name}`, resourceVersion: "1201" },
    spec: { nodeName: node, containers: containers.map((c) => ({ name: c, image: "busybox" })) },
    status: { phase, podIP: "10.244.1.5" },
  };
}

const OBJECTS = {
  apiVersion: "v1",
  kind: "List",
  items: [
    { apiVersion: "v1", kind: "Namespace", metadata: { name: "lab" }, status: { phase: "Active" } },
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "ovn-worker", labels: { "kubernetes.io/os": "linux" } },
    },
    { apiVersion: "v1", kind: "Node", metadata: { name: "ovn-worker2" } },
    pod("lab", "client", "ovn-worker", { app: "client", tier: "frontend" }, ["client"]),
    pod("lab", "server-0", "ovn-worker2", { app: "server", tier: "backend" }, ["server"]),
    pod("lab", "server-1", "ovn-worker", { app: "server", tier: "backend", version: "v2" }, [
      "server",
      "sidecar",
    ]),
    pod("lab", "job-done", "ovn-worker2", { app: "job" }, ["job"], "Succeeded"),
    pod("kube-system", "coredns", "ovn-worker", { "k8s-app": "kube-dns" }, ["coredns"]),
    {
      apiVersion: "v1",
      kind: "Service",
      metadata: { name: "server", namespace: "lab" },
      spec: { selector: { app: "server" }, clusterIP: "10.96.12.34", ports: [{ port: 80, protocol: "TCP" }] },
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "server-x7k2p",
        namespace: "lab",
        labels: { "kubernetes.io/service-name": "server" },
      },
      addressType: "IPv4",
      endpoints: [{ addresses: ["10.244.2.7"], nodeName: "ovn-worker2", conditions: { ready: true } }],
      ports: [{ port: 8080, protocol: "TCP" }],
    },
    {
      apiVersion: "discovery.k8s.io/v1",
      kind: "EndpointSlice",
      metadata: {
        name: "kube-dns-abcde",
        namespace: "kube-system",
        labels: { "kubernetes.io/service-name": "kube-dns" },
      },
      addressType: "IPv4",
      endpoints: [],
    },
    {
      apiVersion: "networking.k8s.io/v1",
      kind: "NetworkPolicy",
      metadata: { name: "deny-to-server", namespace: "lab" },
      spec: { podSelector: { matchLabels: { app: "server" } }, policyTypes: ["Ingress"] },
    },
  ],
};

/** Runs the command for real, argv as given (never through a shell). */
function runLocally(req: ExecRequest): Promise<ExecOutcome> {
  const [file, ...args] = req.command;
  if (file === undefined) return Promise.reject(new Error("empty command"));
  return new Promise((resolve) => {
    const child = execFile(file, args, { encoding: "buffer", timeout: 10_000 }, (error, stdout, stderr) => {
      const exitCode = error === null ? 0 : typeof error.code === "number" ? error.code : 127;
      resolve({ exitCode, stdout, stderr });
    });
    // a command that exits without reading its stdin closes the pipe under us: not an error
    child.stdin?.on("error", () => undefined);
    child.stdin?.end(req.stdin ?? Buffer.alloc(0));
  });
}

class Collector extends Writable {
  private readonly chunks: Buffer[] = [];
  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: () => void): void {
    this.chunks.push(chunk);
    callback();
  }
  get text(): string {
    return Buffer.concat(this.chunks).toString("utf8");
  }
}

interface ExecResult {
  stdout: string;
  stderr: string;
  status: V1Status | undefined;
}

async function execIn(kc: KubeConfig, pod: string, container: string, command: string[], input?: string) {
  const stdout = new Collector();
  const stderr = new Collector();
  let status: V1Status | undefined;
  const stdin = input === undefined ? null : Readable.from([Buffer.from(input)]);
  const ws = await new Exec(kc).exec("lab", pod, container, command, stdout, stderr, stdin, false, (s) => {
    status = s;
  });
  await new Promise<void>((resolve) =>
    ws.on("close", () => {
      resolve();
    }),
  );
  return { stdout: stdout.text, stderr: stderr.text, status } satisfies ExecResult;
}

function kubeConfig(yaml: string, context?: string): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromString(yaml);
  if (context !== undefined) kc.setCurrentContext(context);
  return kc;
}

async function apiError(call: Promise<unknown>): Promise<ApiException<unknown>> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ApiException) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

function statusBody(error: ApiException<unknown>): Record<string, unknown> {
  return JSON.parse(String(error.body)) as Record<string, unknown>;
}

/** A raw GET with the kubeconfig's CA and token: what kubectl sends, headers included. */
function rawGet(
  server: TestApiServer,
  path: string,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(
      `${server.url}${path}`,
      { ca: server.caPem, headers: { Authorization: `Bearer ${TOKEN}`, ...headers } },
      (res) => {
        const chunks: Buffer[] = [];
        res.on("data", (chunk: Buffer) => chunks.push(chunk));
        res.on("end", () => {
          resolve({
            status: res.statusCode ?? 0,
            body: JSON.parse(Buffer.concat(chunks).toString()) as Record<string, unknown>,
          });
        });
      },
    );
    req.on("error", reject);
    req.end();
  });
}

const AS_TABLE =
  "application/json;as=Table;v=v1;g=meta.k8s.io,application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json";

const podNames = (list: { items: { metadata?: { name?: string } }[] }): (string | undefined)[] =>
  list.items.map((item) => item.metadata?.name);

describe("test API server, driven through @kubernetes/client-node", () => {
  let server: TestApiServer;
  let kc: KubeConfig;
  let core: CoreV1Api;
  const execCalls: ExecRequest[] = [];

  beforeAll(async () => {
    server = await startTestApiServer({
      objects: OBJECTS,
      token: TOKEN,
      exec: (req) => {
        execCalls.push(req);
        return runLocally(req);
      },
      forbid: ({ verb, resource, namespace, name }) =>
        (resource === "pods" && name === "coredns") ||
        (resource === "pods/exec" && name === "server-0") ||
        (resource === "endpointslices" && verb === "list" && namespace === "kube-system"),
    });
    kc = kubeConfig(server.kubeconfigYaml());
    core = kc.makeApiClient(CoreV1Api);
  });

  afterAll(async () => {
    await server.close();
  });

  it("reads a pod as a real server returns it", async () => {
    const pod = await core.readNamespacedPod({ namespace: "lab", name: "server-0" });
    expect(pod.kind).toBe("Pod");
    expect(pod.apiVersion).toBe("v1");
    expect(pod.spec?.nodeName).toBe("ovn-worker2");
    expect(pod.metadata?.labels).toEqual({ app: "server", tier: "backend" });
    expect(pod.status?.phase).toBe("Running");
  });

  it("lists pods cluster-wide as a PodList sorted by namespace and name", async () => {
    const list = await core.listPodForAllNamespaces();
    expect(list.kind).toBe("PodList");
    expect(list.apiVersion).toBe("v1");
    expect(list.metadata?.resourceVersion).toBe("1201");
    expect(podNames(list)).toEqual(["coredns", "client", "job-done", "server-0", "server-1"]);
    // Like a real server, list items carry no kind/apiVersion.
    expect(list.items[0]?.kind).toBeUndefined();
  });

  it("filters lists with label selectors", async () => {
    const byLabels = async (labelSelector: string) =>
      podNames(await core.listPodForAllNamespaces({ labelSelector }));
    expect(await byLabels("app=server")).toEqual(["server-0", "server-1"]);
    expect(await byLabels("app==server,version!=v2")).toEqual(["server-0"]);
    expect(await byLabels("tier in (frontend, backend),!version")).toEqual(["client", "server-0"]);
    expect(await byLabels("app notin (server,job)")).toEqual(["coredns", "client"]);
    expect(await byLabels("version")).toEqual(["server-1"]);
    expect(await byLabels("k8s-app=kube-dns")).toEqual(["coredns"]);
    const namespaced = await core.listNamespacedPod({ namespace: "lab", labelSelector: "app!=server" });
    expect(podNames(namespaced)).toEqual(["client", "job-done"]);
  });

  it("filters lists with field selectors", async () => {
    const onNode = await core.listNamespacedPod({
      namespace: "lab",
      fieldSelector: "spec.nodeName=ovn-worker",
    });
    expect(podNames(onNode)).toEqual(["client", "server-1"]);
    const notRunning = await core.listPodForAllNamespaces({ fieldSelector: "status.phase!=Running" });
    expect(podNames(notRunning)).toEqual(["job-done"]);
    const both = await core.listPodForAllNamespaces({
      fieldSelector: "spec.nodeName==ovn-worker,metadata.namespace=kube-system",
    });
    expect(podNames(both)).toEqual(["coredns"]);
    const node = await core.listNode({ fieldSelector: "metadata.name=ovn-worker2" });
    expect(node.items.map((n) => n.metadata?.name)).toEqual(["ovn-worker2"]);
  });

  it("answers bad selectors with 400 Status like a real server", async () => {
    const unsupported = await apiError(core.listPodForAllNamespaces({ fieldSelector: "spec.foo=bar" }));
    expect(unsupported.code).toBe(400);
    expect(statusBody(unsupported)).toMatchObject({
      reason: "BadRequest",
      message: "field label not supported: spec.foo",
    });
    const malformed = await apiError(core.listPodForAllNamespaces({ labelSelector: "app in (a" }));
    expect(malformed.code).toBe(400);
  });

  it("answers a missing pod with a 404 NotFound Status", async () => {
    const error = await apiError(core.readNamespacedPod({ namespace: "lab", name: "ghost" }));
    expect(error.code).toBe(404);
    expect(statusBody(error)).toEqual({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message: 'pods "ghost" not found',
      reason: "NotFound",
      details: { name: "ghost", kind: "pods" },
      code: 404,
    });
  });

  it("answers a forbidden read with a 403 Forbidden Status", async () => {
    const error = await apiError(core.readNamespacedPod({ namespace: "kube-system", name: "coredns" }));
    expect(error.code).toBe(403);
    expect(statusBody(error)).toMatchObject({
      kind: "Status",
      reason: "Forbidden",
      message:
        'pods "coredns" is forbidden: User "system:serviceaccount:default:ovnkube-trace" cannot get resource "pods" in API group "" in the namespace "kube-system"',
      details: { name: "coredns", kind: "pods" },
      code: 403,
    });
  });

  it("names the API group and scope when a list is forbidden", async () => {
    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const error = await apiError(discovery.listNamespacedEndpointSlice({ namespace: "kube-system" }));
    expect(error.code).toBe(403);
    expect(statusBody(error)).toMatchObject({
      message:
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:default:ovnkube-trace" cannot list resource "endpointslices" in API group "discovery.k8s.io" in the namespace "kube-system"',
      details: { group: "discovery.k8s.io", kind: "endpointslices" },
    });
  });

  it("answers a bad token with 401", async () => {
    const wrong = kubeConfig(server.kubeconfigYaml().replaceAll(TOKEN, "not-the-token"));
    const error = await apiError(wrong.makeApiClient(CoreV1Api).listPodForAllNamespaces());
    expect(error.code).toBe(401);
    const last = server.requests.at(-1);
    expect(last).toMatchObject({ method: "GET", path: "/api/v1/pods", status: 401 });
  });

  it("serves nodes, namespaces, services, endpoint slices and network policies", async () => {
    expect((await core.readNode({ name: "ovn-worker" })).metadata?.labels).toEqual({
      "kubernetes.io/os": "linux",
    });
    expect((await core.listNode()).items.map((n) => n.metadata?.name)).toEqual(["ovn-worker", "ovn-worker2"]);
    expect((await core.listNamespace()).items.map((n) => n.metadata?.name)).toEqual(["lab"]);
    const service = await core.readNamespacedService({ namespace: "lab", name: "server" });
    expect(service.spec?.clusterIP).toBe("10.96.12.34");
    expect((await core.listServiceForAllNamespaces()).kind).toBe("ServiceList");

    const discovery = kc.makeApiClient(DiscoveryV1Api);
    const slices = await discovery.listNamespacedEndpointSlice({
      namespace: "lab",
      labelSelector: "kubernetes.io/service-name=server",
    });
    expect(slices.kind).toBe("EndpointSliceList");
    expect(slices.apiVersion).toBe("discovery.k8s.io/v1");
    expect(slices.items.map((s) => s.endpoints[0]?.addresses)).toEqual([["10.244.2.7"]]);
    const allSlices = await discovery.listEndpointSliceForAllNamespaces();
    expect(allSlices.items.map((s) => s.metadata?.name)).toEqual(["kube-dns-abcde", "server-x7k2p"]);
    expect(server.requests.at(-1)?.path).toBe("/apis/discovery.k8s.io/v1/endpointslices");

    const networking = kc.makeApiClient(NetworkingV1Api);
    const policy = await networking.readNamespacedNetworkPolicy({ namespace: "lab", name: "deny-to-server" });
    expect(policy.spec?.podSelector?.matchLabels).toEqual({ app: "server" });
    expect((await networking.listNetworkPolicyForAllNamespaces()).items).toHaveLength(1);
    expect((await networking.listNamespacedNetworkPolicy({ namespace: "kube-system" })).items).toHaveLength(
      0,
    );
    const missing = await apiError(
      networking.readNamespacedNetworkPolicy({ namespace: "lab", name: "nope" }),
    );
    expect(missing.code).toBe(404);
    expect(statusBody(missing)).toMatchObject({
      message: 'networkpolicies.networking.k8s.io "nope" not found',
      details: { name: "nope", group: "networking.k8s.io", kind: "networkpolicies" },
    });

    expect((await kc.makeApiClient(VersionApi).getCode()).gitVersion).toBe("v1.30.0");
  });

  it("refuses writes with 405 and records them", async () => {
    const error = await apiError(core.deleteNamespacedPod({ namespace: "lab", name: "client" }));
    expect(error.code).toBe(405);
    expect(server.requests.filter((r) => r.method === "DELETE")).toMatchObject([
      { path: "/api/v1/namespaces/lab/pods/client", status: 405, ws: false },
    ]);
    expect((await core.readNamespacedPod({ namespace: "lab", name: "client" })).metadata?.name).toBe(
      "client",
    );
  });

  it("runs an exec'd command and delivers stdout, stderr and a Success status", async () => {
    const result = await execIn(kc, "client", "client", ["sh", "-c", "echo out; echo err >&2"]);
    expect(result).toEqual({ stdout: "out\n", stderr: "err\n", status: { metadata: {}, status: "Success" } });
    expect(execCalls.at(-1)).toEqual({
      namespace: "lab",
      pod: "client",
      container: "client",
      command: ["sh", "-c", "echo out; echo err >&2"],
    });
    expect(server.requests.at(-1)).toMatchObject({
      method: "GET",
      path: "/api/v1/namespaces/lab/pods/client/exec",
      ws: true,
      status: 101,
      subprotocol: "v5.channel.k8s.io",
      query: { command: ["sh", "-c", "echo out; echo err >&2"], container: ["client"], stdout: ["true"] },
    });
  });

  it("reports a non-zero exit as the kubelet's NonZeroExitCode status", async () => {
    const result = await execIn(kc, "client", "client", ["sh", "-c", "exit 3"]);
    expect(result.stdout).toBe("");
    expect(result.status).toEqual({
      metadata: {},
      status: "Failure",
      message:
        "command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3",
      reason: "NonZeroExitCode",
      details: { causes: [{ reason: "ExitCode", message: "3" }] },
    });
  });

  it("delivers stdin to the command", async () => {
    const result = await execIn(kc, "server-1", "sidecar", ["cat"], "hello over stdin\n");
    expect(result.stdout).toBe("hello over stdin\n");
    expect(result.status?.status).toBe("Success");
    expect(execCalls.at(-1)?.stdin?.toString()).toBe("hello over stdin\n");
  });

  it("speaks v4.channel.k8s.io to a client that offers only v4", async () => {
    const v4Only = new WebSocketHandler(
      kc,
      // Same runtime class; the types differ only because isomorphic-ws sees ws's CJS declarations.
      // eslint-disable-next-line @typescript-eslint/no-unsafe-class-instance-assignment
      (uri, _protocols, opts) => new WebSocket(uri, ["v4.channel.k8s.io"], opts),
    );
    const stdout = new Collector();
    let status: V1Status | undefined;
    const ws = await new Exec(kc, v4Only).exec(
      "lab",
      "client",
      "client",
      ["echo", "v4"],
      stdout,
      null,
      null,
      false,
      (s) => {
        status = s;
      },
    );
    await new Promise<void>((resolve) =>
      ws.on("close", () => {
        resolve();
      }),
    );
    expect(stdout.text).toBe("v4\n");
    expect(status).toEqual({ metadata: {}, status: "Success" });
    expect(server.requests.at(-1)).toMatchObject({
      ws: true,
      subprotocol: "v4.channel.k8s.io",
      query: { stderr: ["false"] },
    });
  });

  it("carries large outputs across several frames", async () => {
    const result = await execIn(kc, "client", "client", ["head", "-c", "200000", "/dev/zero"]);
    expect(result.stdout).toHaveLength(200_000);
  });

  it("refuses exec into an unknown pod, a wrong container, a forbidden pod and a completed pod", async () => {
    const exec = new Exec(kc);
    const attempt = (pod: string, container: string) =>
      exec.exec("lab", pod, container, ["true"], new Collector(), new Collector(), null, false);
    await expect(attempt("ghost", "c")).rejects.toMatchObject({ message: "Unexpected server response: 404" });
    await expect(attempt("client", "nope")).rejects.toMatchObject({
      message: "Unexpected server response: 400",
    });
    await expect(attempt("server-0", "server")).rejects.toMatchObject({
      message: "Unexpected server response: 403",
    });
    await expect(attempt("job-done", "job")).rejects.toMatchObject({
      message: "Unexpected server response: 400",
    });
    // No container named, and the pod has two.
    await expect(attempt("server-1", "")).rejects.toMatchObject({
      message: "Unexpected server response: 400",
    });
    const refused = server.requests.filter((r) => r.ws).slice(-5);
    expect(refused.map((r) => [r.path, r.status])).toEqual([
      ["/api/v1/namespaces/lab/pods/ghost/exec", 404],
      ["/api/v1/namespaces/lab/pods/client/exec", 400],
      ["/api/v1/namespaces/lab/pods/server-0/exec", 403],
      ["/api/v1/namespaces/lab/pods/job-done/exec", 400],
      ["/api/v1/namespaces/lab/pods/server-1/exec", 400],
    ]);
  });

  it("serves TLS with a certificate only the kubeconfig's CA verifies", async () => {
    expect(server.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const yaml = server.kubeconfigYaml();
    expect(yaml).toContain(`certificate-authority-data: ${Buffer.from(server.caPem).toString("base64")}`);
    expect(yaml).not.toContain("insecure-skip-tls-verify");
    const untrusting = kubeConfig(yaml.replace(/\n {4}certificate-authority-data: .*/g, ""));
    await expect(untrusting.makeApiClient(CoreV1Api).listNamespace()).rejects.toThrow(
      /self[- ]signed certificate|unable to verify|unable to get local issuer/,
    );
  });

  it("answers a Table when asked for one, as kubectl get does", async () => {
    const { status, body } = await rawGet(server, "/api/v1/namespaces/lab/pods?limit=500", {
      Accept: AS_TABLE,
    });
    expect(status).toBe(200);
    expect(body).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1" });
    const columns = body.columnDefinitions as { name: string; priority: number }[];
    expect(columns.map((c) => [c.name, c.priority])).toEqual([
      ["Name", 0],
      ["Ready", 0],
      ["Status", 0],
      ["Restarts", 0],
      ["Age", 0],
      ["IP", 1],
      ["Node", 1],
      ["Nominated Node", 1],
      ["Readiness Gates", 1],
    ]);
    const rows = body.rows as { cells: unknown[]; object: Record<string, unknown>; conditions?: unknown }[];
    expect(rows.map((r) => r.cells[0])).toEqual(["client", "job-done", "server-0", "server-1"]);
    const server1 = rows[3];
    expect(server1?.cells).toEqual([
      "server-1",
      "0/2",
      "Running",
      "0",
      "<unknown>",
      "10.244.1.5",
      "ovn-worker",
      "<none>",
      "<none>",
    ]);
    expect(server1?.object).toEqual({
      kind: "PartialObjectMetadata",
      apiVersion: "meta.k8s.io/v1",
      metadata: OBJECTS.items[5]?.metadata,
    });
    expect(rows[1]?.conditions).toEqual([
      {
        type: "Completed",
        status: "True",
        reason: "Succeeded",
        message: "The pod has completed successfully.",
      },
    ]);

    const service = await rawGet(server, "/api/v1/namespaces/lab/services/server?includeObject=None", {
      Accept: "application/json;as=Table;v=v1beta1;g=meta.k8s.io",
    });
    expect(service.body).toMatchObject({ kind: "Table", apiVersion: "meta.k8s.io/v1beta1" });
    expect(service.body.rows).toEqual([
      { cells: ["server", "ClusterIP", "10.96.12.34", "<none>", "80/TCP", "<unknown>", "app=server"] },
    ]);
    const policies = await rawGet(server, "/apis/networking.k8s.io/v1/networkpolicies", { Accept: AS_TABLE });
    expect((policies.body.rows as { cells: unknown[] }[]).map((r) => r.cells)).toEqual([
      ["deny-to-server", "app=server", "<unknown>"],
    ]);
    // Plain JSON otherwise, and errors stay Status objects.
    expect(
      (await rawGet(server, "/api/v1/namespaces/lab/pods", { Accept: "application/json" })).body.kind,
    ).toBe("PodList");
    const missing = await rawGet(server, "/api/v1/namespaces/lab/pods/ghost", { Accept: AS_TABLE });
    expect([missing.status, missing.body.kind]).toEqual([404, "Status"]);
  });

  it("gives kubectl's short names in discovery, and lists no events", async () => {
    const { body } = await rawGet(server, "/api/v1");
    const resources = body.resources as { name: string; shortNames?: string[]; verbs: string[] }[];
    const short = Object.fromEntries(resources.map((r) => [r.name, r.shortNames]));
    expect(short).toMatchObject({ pods: ["po"], services: ["svc"], namespaces: ["ns"], endpoints: ["ep"] });
    const networking = await rawGet(server, "/apis/networking.k8s.io/v1");
    expect(networking.body.resources).toEqual([
      expect.objectContaining({ name: "networkpolicies", shortNames: ["netpol"], verbs: ["get", "list"] }),
    ]);
    const groups = await rawGet(server, "/apis");
    expect((groups.body.groups as { name: string }[]).map((g) => g.name)).toContain("authorization.k8s.io");
    const events = await core.listNamespacedEvent({
      namespace: "lab",
      fieldSelector: "involvedObject.name=client,involvedObject.namespace=lab",
    });
    expect(events.items).toEqual([]);
    // The access review resource is create-only, like a real server's.
    const get = await rawGet(server, "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews");
    expect(get.status).toBe(405);
  });

  it("answers SelfSubjectAccessReviews from `forbid`", async () => {
    const authz = kc.makeApiClient(AuthorizationV1Api);
    const review = (attributes: Record<string, string>) => {
      const body = new V1SelfSubjectAccessReview();
      body.apiVersion = "authorization.k8s.io/v1";
      body.kind = "SelfSubjectAccessReview";
      body.spec = new V1SelfSubjectAccessReviewSpec();
      body.spec.resourceAttributes = Object.assign(new V1ResourceAttributes(), attributes);
      return authz.createSelfSubjectAccessReview({ body });
    };
    const allowed = await review({ verb: "get", resource: "pods", namespace: "lab", name: "client" });
    expect(allowed.status).toEqual({ allowed: true });
    expect(allowed.spec.resourceAttributes?.name).toBe("client");
    const denied = await review({
      verb: "create",
      resource: "pods",
      subresource: "exec",
      namespace: "lab",
      name: "server-0",
    });
    expect(denied.status).toEqual({ allowed: false });
    expect(server.requests.at(-1)).toMatchObject({
      method: "POST",
      path: "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews",
      status: 201,
    });
  });

  it("serves the `other` context on its own URL", async () => {
    const other = kubeConfig(server.kubeconfigYaml(), "other");
    expect(other.getCurrentCluster()?.server).toBe(server.otherUrl);
    expect(other.getContextObject("other")?.namespace).toBe("kube-system");
    await other.makeApiClient(CoreV1Api).listNode();
    expect(server.requests.at(-1)).toMatchObject({ path: "/api/v1/nodes", context: "other", status: 200 });
    expect(kubeConfig(server.kubeconfigYaml("other")).getCurrentContext()).toBe("other");
  });

  it("writes a kubeconfig file that client-node loads", async () => {
    const dir = mkdtempSync(join(tmpdir(), "k8s-api-"));
    try {
      const path = server.writeKubeconfig(dir);
      expect(readFileSync(path, "utf8")).toContain(`token: "${TOKEN}"`);
      const fromFile = new KubeConfig();
      fromFile.loadFromFile(path);
      expect((await fromFile.makeApiClient(CoreV1Api).listNamespace()).items).toHaveLength(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("test API server without a token or exec handler", () => {
  let server: TestApiServer;
  let called = 0;

  beforeAll(async () => {
    server = await startTestApiServer({
      objects: OBJECTS,
      execDelayMs: 5_000,
      exec: () => {
        called++;
        return Promise.resolve({ exitCode: 0, stdout: "late", stderr: "" });
      },
    });
  });

  afterAll(async () => {
    await server.close();
  });

  it("accepts requests with no credentials", async () => {
    const kc = kubeConfig(server.kubeconfigYaml());
    expect(kc.getCurrentUser()?.token).toBeUndefined();
    const pods = await kc.makeApiClient(CoreV1Api).listNamespacedPod({ namespace: "kube-system" });
    expect(podNames(pods)).toEqual(["coredns"]);
  });

  it("lets a client give up on a slow exec without running the command", async () => {
    const kc = kubeConfig(server.kubeconfigYaml());
    let status: V1Status | undefined;
    const ws = await new Exec(kc).exec(
      "lab",
      "client",
      "client",
      ["true"],
      new Collector(),
      null,
      null,
      false,
      (s) => {
        status = s;
      },
    );
    await new Promise((resolve) => setTimeout(resolve, 100));
    ws.close();
    await new Promise<void>((resolve) =>
      ws.on("close", () => {
        resolve();
      }),
    );
    expect(status).toBeUndefined();
    expect(called).toBe(0);
    expect(server.requests.at(-1)).toMatchObject({ ws: true, status: 101 });
  });

  it("answers exec with 500 when no exec handler is configured", async () => {
    const bare = await startTestApiServer({ objects: OBJECTS });
    try {
      const exec = new Exec(kubeConfig(bare.kubeconfigYaml()));
      await expect(
        exec.exec("lab", "client", "client", ["true"], new Collector(), null, null, false),
      ).rejects.toMatchObject({ message: "Unexpected server response: 500" });
    } finally {
      await bare.close();
    }
  });
});

describe("selectors", () => {
  it("parses every label selector operator", () => {
    expect(parseLabelSelector("a=b, c==d,e!=f,g in (h, i),j notin (k),l,!m,n>3")).toEqual([
      { key: "a", operator: "equals", values: ["b"] },
      { key: "c", operator: "equals", values: ["d"] },
      { key: "e", operator: "notEquals", values: ["f"] },
      { key: "g", operator: "in", values: ["h", "i"] },
      { key: "j", operator: "notIn", values: ["k"] },
      { key: "l", operator: "exists", values: [] },
      { key: "m", operator: "doesNotExist", values: [] },
      { key: "n", operator: "gt", values: ["3"] },
    ]);
    expect(parseLabelSelector("  ")).toEqual([]);
  });

  it("treats != and notin as matching an absent label", () => {
    expect(matchesLabelSelector(parseLabelSelector("a!=b"), {})).toBe(true);
    expect(matchesLabelSelector(parseLabelSelector("a notin (b)"), { c: "d" })).toBe(true);
    expect(matchesLabelSelector(parseLabelSelector("a in (b)"), {})).toBe(false);
    expect(matchesLabelSelector(parseLabelSelector("a="), { a: "" })).toBe(true);
  });

  it("rejects malformed selectors", () => {
    for (const bad of ["a in (b", "a b", "=b", "a,,b", "a in ()", "-a=b", "a=b c", "n>x"]) {
      expect(() => parseLabelSelector(bad), bad).toThrow(SelectorError);
    }
    expect(() => parseFieldSelector("spec.nodeName")).toThrow(SelectorError);
  });

  it("unescapes field selector values", () => {
    expect(parseFieldSelector(String.raw`metadata.name=a\,b,status.phase!=x\=y`)).toEqual([
      { field: "metadata.name", operator: "equals", value: "a,b" },
      { field: "status.phase", operator: "notEquals", value: "x=y" },
    ]);
  });
});

describe("SPDY/3 header blocks", () => {
  it("uses the draft-3 dictionary", () => {
    expect(SPDY3_DICTIONARY).toHaveLength(1423);
    expect(adler32(SPDY3_DICTIONARY).toString(16)).toBe("e3c6a7c2");
    expect(adler32(Buffer.from("Wikipedia")).toString(16)).toBe("11e60398");
  });

  it("encodes a zlib stream that inflates block by block, and decodes one deflated with the dictionary", () => {
    const encoder = new HeaderEncoder();
    const first = encoder.encode({ streamtype: ["error"] });
    const second = encoder.encode({ a: ["b", "c"] });
    const inflate = (data: Buffer) =>
      inflateSync(data, { dictionary: SPDY3_DICTIONARY, finishFlush: zlibConstants.Z_SYNC_FLUSH });
    const one = inflate(first);
    expect(one.readUInt32BE(0)).toBe(1);
    expect(one.subarray(8, 18).toString()).toBe("streamtype");
    expect(
      inflate(Buffer.concat([first, second]))
        .subarray(one.length)
        .readUInt32BE(0),
    ).toBe(1);
    const decoder = new HeaderDecoder();
    expect(decoder.decode(first)).toEqual({ streamtype: ["error"] });
    expect(decoder.decode(second)).toEqual({ a: ["b", "c"] });
    const block = Buffer.concat([
      Buffer.from([0, 0, 0, 1, 0, 0, 0, 4]),
      Buffer.from("port"),
      Buffer.from([0, 0, 0, 4]),
      Buffer.from("8080"),
    ]);
    const deflated = deflateSync(block, {
      dictionary: SPDY3_DICTIONARY,
      finishFlush: zlibConstants.Z_SYNC_FLUSH,
    });
    expect(new HeaderDecoder().decode(deflated)).toEqual({ port: ["8080"] });
  });
});

describe("server-side printing", () => {
  it("formats ages as kubectl does", () => {
    const s = 1000;
    expect(
      [5 * s, 150 * s, 605 * s, 3 * 3600 * s + 60 * s, 30 * 3600 * s, 3 * 86400 * s + 3600 * s].map(
        humanDuration,
      ),
    ).toEqual(["5s", "2m30s", "10m", "3h1m", "30h", "3d1h"]);
    expect(humanDuration(400 * 86400 * s)).toBe("400d");
    expect(humanDuration(-5 * s)).toBe("<invalid>");
  });

  it("picks the first Table version the client accepts", () => {
    expect(acceptedTableVersion(AS_TABLE)).toBe("v1");
    expect(
      acceptedTableVersion(
        "application/json;as=Table;v=v2;g=meta.k8s.io, application/json;as=Table;v=v1beta1;g=meta.k8s.io",
      ),
    ).toBe("v1beta1");
    expect(
      acceptedTableVersion("application/json, application/json;as=Table;v=v1;g=meta.k8s.io"),
    ).toBeUndefined();
    expect(acceptedTableVersion(undefined)).toBeUndefined();
  });
});
