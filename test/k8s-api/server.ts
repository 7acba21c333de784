// A read-only stand-in for the Kubernetes API server, speaking the wire protocols that
// @kubernetes/client-node and a real kubectl use: HTTPS with a certificate signed by a throw-away CA
// (tls.ts; the kubeconfig carries it as certificate-authority-data) and a bearer token, JSON REST with
// discovery (short names), server-side Tables for `kubectl get` (tables.ts), SelfSubjectAccessReviews
// for `kubectl auth can-i`, and exec over WebSocket (v5/v4 channel protocols) or SPDY/3.1 (remote
// command v4, spdy.ts; kubectl before 1.30). Test-only: no real API server can run in this environment.

import { mkdirSync, writeFileSync } from "node:fs";
import { STATUS_CODES, type IncomingMessage, type ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import { setTimeout as sleep } from "node:timers/promises";
import { WebSocketServer, type RawData, type WebSocket } from "ws";
import {
  matchesFieldSelector,
  matchesLabelSelector,
  parseFieldSelector,
  parseLabelSelector,
  SelectorError,
  type FieldRequirement,
} from "../../src/cluster/selectors.js";
import { SpdySession } from "./spdy.js";
import { acceptedTableVersion, toTable } from "./tables.js";
import { testTls, type TestTls } from "./tls.js";

export interface ExecRequest {
  namespace: string;
  pod: string;
  container: string;
  command: string[];
  stdin?: Buffer;
}

export interface ExecOutcome {
  exitCode: number;
  stdout: string | Buffer;
  stderr: string | Buffer;
}

export interface AuthorizationRequest {
  verb: string;
  /** Plural resource, with "/subresource" for subresources, e.g. "pods/exec". */
  resource: string;
  /** API group; "" for the core group. */
  group: string;
  namespace?: string;
  name?: string;
}

export interface TestApiServerOptions {
  /** A v1 List as `kubectl get -o json` gives. */
  objects: { items: Record<string, unknown>[] };
  /** Runs an exec'd command. Without it, exec requests get a 500 Status. */
  exec?: (req: ExecRequest) => Promise<ExecOutcome>;
  /** If set, every request must carry "Authorization: Bearer <token>" or gets 401. */
  token?: string;
  /** Requests for which this returns true get a 403 Forbidden Status. */
  forbid?: (req: AuthorizationRequest) => boolean;
  /** Delay between the WebSocket upgrade and running the command, to test client timeouts. */
  execDelayMs?: number;
  /** User named in 403 messages. */
  userName?: string;
  /** Certificate and CA to serve with; default: one generated per process (see tls.ts). */
  tls?: TestTls;
}

export type ContextName = "lab" | "other";

export interface RecordedRequest {
  method: string;
  path: string;
  query: Record<string, string[]>;
  ws: boolean;
  /** Which kubeconfig context's cluster URL received the request. */
  context: ContextName;
  /** HTTP status answered (101 for an accepted WebSocket upgrade); set once answered. */
  status?: number;
  /** Channel protocol chosen for an accepted exec upgrade, e.g. "v5.channel.k8s.io". */
  subprotocol?: string;
  /** The Upgrade header of an upgrade request: "websocket", or "SPDY/3.1" (kubectl before 1.30). */
  upgrade?: string;
  /** The client's User-Agent, e.g. "kubectl/v1.20.2 (linux/amd64) kubernetes/faecb19". */
  userAgent?: string;
}

export interface TestApiServer {
  /** URL (https) of the `lab` context's cluster. */
  url: string;
  /** URL of the `other` context's cluster: same objects, separate listener. */
  otherUrl: string;
  /** PEM of the CA that signed the server's certificate (the kubeconfig's certificate-authority-data). */
  caPem: string;
  /** Kubeconfig with contexts `lab` (namespace default) and `other` (namespace kube-system). */
  kubeconfigYaml(context?: ContextName): string;
  /** Writes `<dir>/kubeconfig` and returns its path. */
  writeKubeconfig(dir: string, context?: ContextName): string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}

interface ResourceType {
  group: string;
  version: string;
  plural: string;
  kind: string;
  namespaced: boolean;
  /** Verbs in discovery; default get and list (the server is read-only). */
  verbs?: readonly string[];
  shortNames?: readonly string[];
  categories?: readonly string[];
}

interface Answer {
  status: number;
  body: unknown;
}

// Short names and categories as a real server's discovery gives them (kubectl resolves `po`, `svc`, ...).
const KNOWN_TYPES: readonly ResourceType[] = [
  {
    group: "",
    version: "v1",
    plural: "pods",
    kind: "Pod",
    namespaced: true,
    shortNames: ["po"],
    categories: ["all"],
  },
  { group: "", version: "v1", plural: "nodes", kind: "Node", namespaced: false, shortNames: ["no"] },
  {
    group: "",
    version: "v1",
    plural: "namespaces",
    kind: "Namespace",
    namespaced: false,
    shortNames: ["ns"],
  },
  {
    group: "",
    version: "v1",
    plural: "services",
    kind: "Service",
    namespaced: true,
    shortNames: ["svc"],
    categories: ["all"],
  },
  { group: "", version: "v1", plural: "endpoints", kind: "Endpoints", namespaced: true, shortNames: ["ep"] },
  // None are served, but `kubectl describe` lists a pod's events.
  { group: "", version: "v1", plural: "events", kind: "Event", namespaced: true, shortNames: ["ev"] },
  {
    group: "discovery.k8s.io",
    version: "v1",
    plural: "endpointslices",
    kind: "EndpointSlice",
    namespaced: true,
  },
  {
    group: "networking.k8s.io",
    version: "v1",
    plural: "networkpolicies",
    kind: "NetworkPolicy",
    namespaced: true,
    shortNames: ["netpol"],
  },
  // POST only: `kubectl auth can-i` (answered from `forbid`).
  {
    group: "authorization.k8s.io",
    version: "v1",
    plural: "selfsubjectaccessreviews",
    kind: "SelfSubjectAccessReview",
    namespaced: false,
    verbs: ["create"],
  },
];
const DEFAULT_VERBS = ["get", "list"];

// Field selectors each resource supports on a real server; others get 400 "field label not supported".
const SELECTABLE_FIELDS: Record<string, readonly string[]> = {
  pods: [
    "metadata.name",
    "metadata.namespace",
    "spec.nodeName",
    "spec.restartPolicy",
    "spec.schedulerName",
    "spec.serviceAccountName",
    "spec.hostNetwork",
    "status.phase",
    "status.podIP",
    "status.nominatedNodeName",
  ],
  nodes: ["metadata.name", "spec.unschedulable"],
  namespaces: ["metadata.name", "status.phase"],
  events: [
    "metadata.name",
    "metadata.namespace",
    "involvedObject.kind",
    "involvedObject.namespace",
    "involvedObject.name",
    "involvedObject.uid",
    "involvedObject.apiVersion",
    "involvedObject.resourceVersion",
    "involvedObject.fieldPath",
    "reason",
    "reportingComponent",
    "source",
    "type",
  ],
};
const DEFAULT_SELECTABLE_FIELDS = ["metadata.name", "metadata.namespace"];

const WRITE_METHODS = new Set(["POST", "PUT", "PATCH", "DELETE"]);
const ACCESS_REVIEW_PATH = "/apis/authorization.k8s.io/v1/selfsubjectaccessreviews";
const EXEC_SUBPROTOCOLS = ["v5.channel.k8s.io", "v4.channel.k8s.io"];
/** kubectl before 1.30 execs over SPDY; the only remote command version served there is v4. */
const SPDY_UPGRADE = "SPDY/3.1";
const SPDY_EXEC_PROTOCOL = "v4.channel.k8s.io";
const EXEC_PATH = /^\/api\/v1\/namespaces\/([^/]+)\/pods\/([^/]+)\/exec$/;
const FRAME_PAYLOAD_BYTES = 32 * 1024;

const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

const VERSION_INFO = {
  major: "1",
  minor: "30",
  gitVersion: "v1.30.0",
  gitCommit: "7c48c2bd72b9bf5c44d21d7338cc7bea77d0ad2a",
  gitTreeState: "clean",
  buildDate: "2024-04-17T17:27:03Z",
  goVersion: "go1.22.2",
  compiler: "gc",
  platform: "linux/amd64",
};

export async function startTestApiServer(opts: TestApiServerOptions): Promise<TestApiServer> {
  const store = new ObjectStore(opts.objects);
  const requests: RecordedRequest[] = [];
  const sockets = new WebSocketServer({ noServer: true, handleProtocols: pickSubprotocol });
  const api = new ApiHandler(opts, store, sockets);
  const tls = opts.tls ?? (await testTls());
  const serverOptions = { key: tls.keyPem, cert: tls.certPem };
  const servers = {
    lab: createServer(serverOptions, (req, res) => {
      api.serve(req, res, record(requests, req, "lab", false));
    }),
    other: createServer(serverOptions, (req, res) => {
      api.serve(req, res, record(requests, req, "other", false));
    }),
  };
  for (const [context, server] of Object.entries(servers) as [ContextName, Server][]) {
    server.on("upgrade", (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      api.upgrade(req, socket, head, record(requests, req, context, true));
    });
  }
  const url = await listen(servers.lab);
  const otherUrl = await listen(servers.other);
  const kubeconfigYaml = (context: ContextName = "lab"): string =>
    renderKubeconfig(url, otherUrl, tls.caPem, opts.token, context);
  return {
    url,
    otherUrl,
    caPem: tls.caPem,
    requests,
    kubeconfigYaml,
    writeKubeconfig(dir: string, context?: ContextName): string {
      mkdirSync(dir, { recursive: true });
      const path = join(dir, "kubeconfig");
      writeFileSync(path, kubeconfigYaml(context), { mode: 0o600 });
      return path;
    },
    async close(): Promise<void> {
      for (const client of sockets.clients) client.terminate();
      sockets.close();
      api.closeSpdySessions();
      await Promise.all([stop(servers.lab), stop(servers.other)]);
    },
  };
}

function record(
  requests: RecordedRequest[],
  req: IncomingMessage,
  context: ContextName,
  ws: boolean,
): RecordedRequest {
  const url = new URL(req.url ?? "/", "http://placeholder");
  const query: Record<string, string[]> = {};
  for (const [key, value] of url.searchParams) (query[key] ??= []).push(value);
  const entry: RecordedRequest = { method: req.method ?? "GET", path: url.pathname, query, ws, context };
  if (ws && req.headers.upgrade !== undefined) entry.upgrade = req.headers.upgrade;
  if (req.headers["user-agent"] !== undefined) entry.userAgent = req.headers["user-agent"];
  requests.push(entry);
  return entry;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve, reject) => {
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve(`https://127.0.0.1:${port}`);
    });
  });
}

function stop(server: Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => {
      resolve();
    });
    server.closeAllConnections();
  });
}

function pickSubprotocol(offered: Set<string>): string | false {
  return [...offered].find((protocol) => EXEC_SUBPROTOCOLS.includes(protocol)) ?? false;
}

function renderKubeconfig(
  url: string,
  otherUrl: string,
  caPem: string,
  token: string | undefined,
  current: ContextName,
): string {
  const ca = Buffer.from(caPem).toString("base64");
  const user = token === undefined ? "{}" : `\n    token: ${JSON.stringify(token)}`;
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "- name: lab",
    "  cluster:",
    `    server: ${url}`,
    `    certificate-authority-data: ${ca}`,
    "- name: other",
    "  cluster:",
    `    server: ${otherUrl}`,
    `    certificate-authority-data: ${ca}`,
    "users:",
    "- name: lab-reader",
    `  user: ${user}`,
    "- name: other-reader",
    `  user: ${user}`,
    "contexts:",
    "- name: lab",
    "  context:",
    "    cluster: lab",
    "    user: lab-reader",
    "    namespace: default",
    "- name: other",
    "  context:",
    "    cluster: other",
    "    user: other-reader",
    "    namespace: kube-system",
    `current-context: ${current}`,
    "",
  ].join("\n");
}

class ObjectStore {
  readonly types: ResourceType[] = [...KNOWN_TYPES];
  private readonly objectsByType = new Map<ResourceType, Record<string, unknown>[]>();

  constructor(list: { items: Record<string, unknown>[] }) {
    const itemType = inferItemTypeOfTypedList(list);
    list.items.forEach((item, index) => {
      const kind = typeof item.kind === "string" ? item.kind : itemType?.kind;
      const apiVersion = typeof item.apiVersion === "string" ? item.apiVersion : itemType?.apiVersion;
      if (kind === undefined || apiVersion === undefined) {
        throw new Error(`test API server: objects.items[${index}] has no kind/apiVersion`);
      }
      const type = this.typeFor(kind, apiVersion, namespaceOf(item) !== undefined);
      const objects = this.objectsByType.get(type) ?? [];
      objects.push(item);
      this.objectsByType.set(type, objects);
    });
    for (const objects of this.objectsByType.values()) objects.sort(byNamespaceAndName);
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  list(type: ResourceType, namespace: string | undefined): Record<string, unknown>[] {
    const objects = this.objectsByType.get(type) ?? [];
    return namespace === undefined ? objects : objects.filter((o) => namespaceOf(o) === namespace);
  }

  get(type: ResourceType, namespace: string | undefined, name: string): Record<string, unknown> | undefined {
    return this.list(type, namespace).find((o) => nameOf(o) === name);
  }

  private typeFor(kind: string, apiVersion: string, namespaced: boolean): ResourceType {
    const [group, version] = apiVersion.includes("/") ? apiVersion.split("/", 2) : ["", apiVersion];
    const known = this.types.find((t) => t.kind === kind && t.group === group && t.version === version);
    if (known !== undefined) return known;
    const derived: ResourceType = {
      group: group ?? "",
      version: version ?? "",
      kind,
      plural: pluralOf(kind),
      namespaced,
    };
    this.types.push(derived);
    return derived;
  }
}

function inferItemTypeOfTypedList(list: object): { kind: string; apiVersion: string } | undefined {
  const { kind, apiVersion } = list as { kind?: unknown; apiVersion?: unknown };
  if (
    typeof kind !== "string" ||
    typeof apiVersion !== "string" ||
    !kind.endsWith("List") ||
    kind === "List"
  ) {
    return undefined;
  }
  return { kind: kind.slice(0, -"List".length), apiVersion };
}

function pluralOf(kind: string): string {
  const lower = kind.toLowerCase();
  if (/(s|x|ch|sh)$/.test(lower)) return `${lower}es`;
  if (/[^aeiou]y$/.test(lower)) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

function metadataOf(object: Record<string, unknown>): Record<string, unknown> {
  const metadata = object.metadata;
  return typeof metadata === "object" && metadata !== null ? (metadata as Record<string, unknown>) : {};
}

function nameOf(object: Record<string, unknown>): string {
  const name = metadataOf(object).name;
  return typeof name === "string" ? name : "";
}

function namespaceOf(object: Record<string, unknown>): string | undefined {
  const namespace = metadataOf(object).namespace;
  return typeof namespace === "string" && namespace !== "" ? namespace : undefined;
}

function byNamespaceAndName(a: Record<string, unknown>, b: Record<string, unknown>): number {
  const key = (o: Record<string, unknown>): string => `${namespaceOf(o) ?? ""}/${nameOf(o)}`;
  return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
}

function fieldValue(object: Record<string, unknown>, path: string): string {
  let current: unknown = object;
  for (const part of path.split(".")) {
    if (typeof current !== "object" || current === null) return "";
    current = (current as Record<string, unknown>)[part];
  }
  if (typeof current === "string") return current;
  if (typeof current === "number" || typeof current === "boolean") return String(current);
  // Unset booleans select as "false" on a real server (spec.hostNetwork, spec.unschedulable).
  return path === "spec.hostNetwork" || path === "spec.unschedulable" ? "false" : "";
}

function listResourceVersion(objects: Record<string, unknown>[]): string {
  const versions = objects.map((o) => Number(metadataOf(o).resourceVersion)).filter(Number.isFinite);
  return String(Math.max(1000, ...versions));
}

function withTypeMeta(type: ResourceType, object: Record<string, unknown>): Record<string, unknown> {
  return { kind: type.kind, apiVersion: groupVersion(type), ...withoutTypeMeta(object) };
}

// A real server's list items carry no kind/apiVersion (kubectl adds them when printing).
function withoutTypeMeta(object: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(object).filter(([key]) => key !== "kind" && key !== "apiVersion"));
}

function groupVersion(type: { group: string; version: string }): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

function qualifiedResource(type: { group: string; plural: string }): string {
  return type.group === "" ? type.plural : `${type.plural}.${type.group}`;
}

function status(code: number, reason: string, message: string, details?: Record<string, unknown>): Answer {
  const body: Record<string, unknown> = {
    kind: "Status",
    apiVersion: "v1",
    metadata: {},
    status: "Failure",
    message,
  };
  body.reason = reason;
  if (details !== undefined) body.details = details;
  body.code = code;
  return { status: code, body };
}

function objectDetails(
  type: { group: string; plural: string },
  name: string | undefined,
): Record<string, unknown> {
  return {
    ...(name === undefined ? {} : { name }),
    ...(type.group === "" ? {} : { group: type.group }),
    kind: type.plural,
  };
}

function notFound(type: { group: string; plural: string }, name: string): Answer {
  return status(404, "NotFound", `${qualifiedResource(type)} "${name}" not found`, objectDetails(type, name));
}

const resourceNotFound = (): Answer =>
  status(404, "NotFound", "the server could not find the requested resource", {});
const badRequest = (message: string): Answer => status(400, "BadRequest", message);
const unauthorized = (): Answer => status(401, "Unauthorized", "Unauthorized");
const methodNotAllowed = (): Answer =>
  status(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {});

interface ResourceRequest {
  group: string;
  version: string;
  plural: string;
  namespace?: string;
  name?: string;
}

/** Splits /api/v1/... and /apis/{group}/{version}/... paths as the API server's RequestInfo resolver does. */
function parseResourcePath(segments: string[]): ResourceRequest | undefined {
  let group: string;
  let version: string;
  let rest: string[];
  if (segments[0] === "api" && segments[1] !== undefined) {
    [group, version, rest] = ["", segments[1], segments.slice(2)];
  } else if (segments[0] === "apis" && segments[1] !== undefined && segments[2] !== undefined) {
    [group, version, rest] = [segments[1], segments[2], segments.slice(3)];
  } else {
    return undefined;
  }
  if (rest[0] === "namespaces" && rest.length >= 3 && rest[1] !== undefined && rest[2] !== undefined) {
    if (rest.length > 4) return undefined;
    return {
      group,
      version,
      plural: rest[2],
      namespace: rest[1],
      ...(rest[3] === undefined ? {} : { name: rest[3] }),
    };
  }
  if (rest[0] === undefined || rest.length > 2) return undefined;
  return { group, version, plural: rest[0], ...(rest[1] === undefined ? {} : { name: rest[1] }) };
}

class ApiHandler {
  private readonly spdySessions = new Set<SpdySession>();

  constructor(
    private readonly opts: TestApiServerOptions,
    private readonly store: ObjectStore,
    private readonly sockets: WebSocketServer,
  ) {}

  serve(req: IncomingMessage, res: ServerResponse, entry: RecordedRequest): void {
    const body: Buffer[] = [];
    req.on("data", (chunk: Buffer) => body.push(chunk));
    req.on("end", () => {
      const answer = this.answer(req, entry, Buffer.concat(body));
      entry.status = answer.status;
      const text = JSON.stringify(answer.body);
      res.writeHead(answer.status, {
        "Content-Type": "application/json",
        "Content-Length": Buffer.byteLength(text),
        "Cache-Control": "no-cache, private",
      });
      res.end(text);
    });
  }

  upgrade(req: IncomingMessage, socket: Duplex, head: Buffer, entry: RecordedRequest): void {
    socket.on("error", () => {
      // The client may drop the connection at any time; nothing to clean up.
    });
    const rejection = this.checkExec(req, entry);
    if (rejection !== undefined) {
      entry.status = rejection.status;
      rejectUpgrade(socket, rejection);
      return;
    }
    const exec = this.execRequestOf(entry);
    if (req.headers.upgrade?.toLowerCase() === SPDY_UPGRADE.toLowerCase()) {
      entry.status = 101;
      entry.subprotocol = SPDY_EXEC_PROTOCOL;
      socket.write(
        [
          "HTTP/1.1 101 Switching Protocols",
          "Connection: Upgrade",
          `Upgrade: ${SPDY_UPGRADE}`,
          `X-Stream-Protocol-Version: ${SPDY_EXEC_PROTOCOL}`,
          "",
          "",
        ].join("\r\n"),
      );
      void this.runSpdyExec(socket, head, exec, entry);
      return;
    }
    this.sockets.handleUpgrade(req, socket, head, (ws) => {
      entry.status = 101;
      entry.subprotocol = ws.protocol;
      void this.runExec(ws, exec, entry);
    });
  }

  private answer(req: IncomingMessage, entry: RecordedRequest, body: Buffer): Answer {
    if (!this.authenticated(req)) return unauthorized();
    if (entry.method === "POST" && entry.path === ACCESS_REVIEW_PATH) return this.accessReview(body);
    if (WRITE_METHODS.has(entry.method)) return methodNotAllowed();
    if (entry.method !== "GET" && entry.method !== "HEAD") return methodNotAllowed();
    const segments = pathSegments(entry.path);
    if (segments === undefined) return resourceNotFound();
    const discovery = this.discovery(segments, req);
    if (discovery !== undefined) return { status: 200, body: discovery };
    if (EXEC_PATH.test(entry.path)) return badRequest("Upgrade request required");
    const request = parseResourcePath(segments);
    if (request === undefined) return resourceNotFound();
    return this.answerResource(request, entry.query, acceptedTableVersion(req.headers.accept));
  }

  /** A SelfSubjectAccessReview (what `kubectl auth can-i` posts), allowed unless `forbid` says no. */
  private accessReview(body: Buffer): Answer {
    let review: unknown;
    try {
      review = JSON.parse(body.toString("utf8"));
    } catch {
      return badRequest("the request body is not a SelfSubjectAccessReview");
    }
    const { kind, spec } = (typeof review === "object" && review !== null ? review : {}) as Record<
      string,
      unknown
    >;
    if (kind !== "SelfSubjectAccessReview" || typeof spec !== "object" || spec === null) {
      return badRequest("the request body is not a SelfSubjectAccessReview");
    }
    const attributes = (spec as Record<string, unknown>).resourceAttributes;
    let allowed = true;
    if (typeof attributes === "object" && attributes !== null) {
      const text = (key: string): string => {
        const value = (attributes as Record<string, unknown>)[key];
        return typeof value === "string" ? value : "";
      };
      const [namespace, name, subresource] = [text("namespace"), text("name"), text("subresource")];
      allowed =
        this.opts.forbid?.({
          verb: text("verb"),
          resource: subresource === "" ? text("resource") : `${text("resource")}/${subresource}`,
          group: text("group"),
          ...(namespace === "" ? {} : { namespace }),
          ...(name === "" ? {} : { name }),
        }) !== true;
    }
    return {
      status: 201,
      body: {
        kind: "SelfSubjectAccessReview",
        apiVersion: "authorization.k8s.io/v1",
        metadata: { creationTimestamp: null },
        spec,
        status: { allowed },
      },
    };
  }

  private authenticated(req: IncomingMessage): boolean {
    return this.opts.token === undefined || req.headers.authorization === `Bearer ${this.opts.token}`;
  }

  private forbidden(request: AuthorizationRequest): Answer | undefined {
    if (this.opts.forbid?.(request) !== true) return undefined;
    const user =
      this.opts.userName ??
      (this.opts.token === undefined ? "system:anonymous" : "system:serviceaccount:default:ovnkube-trace");
    const type = { group: request.group, plural: request.resource.split("/")[0] ?? request.resource };
    const subject =
      request.name === undefined ? qualifiedResource(type) : `${qualifiedResource(type)} "${request.name}"`;
    const scope =
      request.namespace === undefined ? "at the cluster scope" : `in the namespace "${request.namespace}"`;
    const message = `${subject} is forbidden: User "${user}" cannot ${request.verb} resource "${request.resource}" in API group "${request.group}" ${scope}`;
    return status(403, "Forbidden", message, objectDetails(type, request.name));
  }

  private answerResource(
    request: ResourceRequest,
    query: Record<string, string[]>,
    table: "v1" | "v1beta1" | undefined,
  ): Answer {
    const watching = query.watch?.[0] === "true" || query.watch?.[0] === "1";
    const verb = request.name !== undefined ? "get" : watching ? "watch" : "list";
    const forbidden = this.forbidden({
      verb,
      resource: request.plural,
      group: request.group,
      ...(request.namespace === undefined ? {} : { namespace: request.namespace }),
      ...(request.name === undefined ? {} : { name: request.name }),
    });
    if (forbidden !== undefined) return forbidden;
    const type = this.store.find(request.group, request.version, request.plural);
    if (type === undefined) return resourceNotFound();
    if (request.namespace !== undefined && !type.namespaced) return resourceNotFound();
    if (!(type.verbs ?? DEFAULT_VERBS).includes(verb)) return methodNotAllowed();
    if (request.name !== undefined) {
      if (type.namespaced && request.namespace === undefined) return resourceNotFound();
      const object = this.store.get(type, request.namespace, request.name);
      if (object === undefined) return notFound(type, request.name);
      if (table !== undefined) return this.table(type, [object], query, table);
      return { status: 200, body: withTypeMeta(type, object) };
    }
    if (watching) return badRequest("watch is not supported by the test API server");
    return this.answerList(type, request.namespace, query, table);
  }

  private table(
    type: ResourceType,
    objects: Record<string, unknown>[],
    query: Record<string, string[]>,
    version: "v1" | "v1beta1",
  ): Answer {
    const body = toTable(type.kind, objects, {
      version,
      includeObject: query.includeObject?.[0],
      resourceVersion: listResourceVersion(this.store.list(type, undefined)),
    });
    return { status: 200, body };
  }

  private answerList(
    type: ResourceType,
    namespace: string | undefined,
    query: Record<string, string[]>,
    table: "v1" | "v1beta1" | undefined,
  ): Answer {
    let labelRequirements;
    let fieldRequirements;
    try {
      labelRequirements = parseLabelSelector(query.labelSelector?.[0] ?? "");
      fieldRequirements = parseFieldSelector(query.fieldSelector?.[0] ?? "");
    } catch (error) {
      if (error instanceof SelectorError) return badRequest(error.message);
      throw error;
    }
    const selectable = SELECTABLE_FIELDS[type.plural] ?? DEFAULT_SELECTABLE_FIELDS;
    const unsupported = fieldRequirements.find((requirement) => !selectable.includes(requirement.field));
    if (unsupported !== undefined) return badRequest(`field label not supported: ${unsupported.field}`);
    const items = this.store
      .list(type, namespace)
      .filter((object) => matchesLabelSelector(labelRequirements, labelsOf(object)))
      .filter((object) => matchesFields(fieldRequirements, selectable, object));
    if (table !== undefined) return this.table(type, items, query, table);
    const body = {
      kind: `${type.kind}List`,
      apiVersion: groupVersion(type),
      metadata: { resourceVersion: listResourceVersion(this.store.list(type, undefined)) },
      items: items.map(withoutTypeMeta),
    };
    return { status: 200, body };
  }

  private discovery(segments: string[], req: IncomingMessage): unknown {
    const path = segments.join("/");
    if (path === "version") return VERSION_INFO;
    if (path === "api") {
      return {
        kind: "APIVersions",
        versions: ["v1"],
        serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: req.headers.host ?? "" }],
      };
    }
    if (path === "apis") return this.apiGroupList();
    if (segments[0] === "api" && segments.length === 2) return this.resourceList("", segments[1] ?? "");
    if (segments[0] === "apis" && segments.length === 3)
      return this.resourceList(segments[1] ?? "", segments[2] ?? "");
    return undefined;
  }

  private apiGroupList(): unknown {
    const groups = new Map<string, string[]>();
    for (const type of this.store.types) {
      if (type.group === "") continue;
      const versions = groups.get(type.group) ?? [];
      if (!versions.includes(type.version)) versions.push(type.version);
      groups.set(type.group, versions);
    }
    return {
      kind: "APIGroupList",
      apiVersion: "v1",
      groups: [...groups].map(([name, versions]) => {
        const listed = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
        return { name, versions: listed, preferredVersion: listed[0] };
      }),
    };
  }

  private resourceList(group: string, version: string): unknown {
    const types = this.store.types.filter((t) => t.group === group && t.version === version);
    if (types.length === 0) return undefined;
    const resources: Record<string, unknown>[] = types.map((t) => ({
      name: t.plural,
      singularName: t.kind.toLowerCase(),
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: t.verbs ?? DEFAULT_VERBS,
      ...(t.shortNames === undefined ? {} : { shortNames: t.shortNames }),
      ...(t.categories === undefined ? {} : { categories: t.categories }),
    }));
    if (group === "" && types.some((t) => t.plural === "pods")) {
      resources.push({
        name: "pods/exec",
        singularName: "",
        namespaced: true,
        kind: "PodExecOptions",
        verbs: ["create", "get"],
      });
    }
    return {
      kind: "APIResourceList",
      apiVersion: "v1",
      groupVersion: groupVersion({ group, version }),
      resources,
    };
  }

  /** The checks the API server makes before it proxies an exec upgrade to the kubelet. */
  private checkExec(req: IncomingMessage, entry: RecordedRequest): Answer | undefined {
    if (!this.authenticated(req)) return unauthorized();
    const match = EXEC_PATH.exec(entry.path);
    const namespace = decodeSegment(match?.[1]);
    const podName = decodeSegment(match?.[2]);
    if (namespace === undefined || podName === undefined) return resourceNotFound();
    const forbidden = this.forbidden({
      verb: "create",
      resource: "pods/exec",
      group: "",
      namespace,
      name: podName,
    });
    if (forbidden !== undefined) return forbidden;
    const podType = this.store.find("", "v1", "pods");
    const pod = podType === undefined ? undefined : this.store.get(podType, namespace, podName);
    if (podType === undefined || pod === undefined) return notFound({ group: "", plural: "pods" }, podName);
    const invalid = validateExecQuery(entry.query, pod, podName);
    if (invalid !== undefined) return invalid;
    if (this.opts.exec === undefined) {
      return status(
        500,
        "InternalError",
        "Internal error occurred: the test API server has no exec handler",
        {
          causes: [{ message: "the test API server has no exec handler" }],
        },
      );
    }
    const upgrade = req.headers.upgrade?.toLowerCase();
    if (upgrade === SPDY_UPGRADE.toLowerCase()) {
      // Several X-Stream-Protocol-Version headers arrive joined with ", ".
      const offered = headerList(req.headers["x-stream-protocol-version"]);
      if (!offered.includes(SPDY_EXEC_PROTOCOL)) {
        // What the kubelet's httpstream.Handshake answers.
        return status(
          403,
          "Forbidden",
          `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(" ")}], server supports [${SPDY_EXEC_PROTOCOL}]`,
        );
      }
      return undefined;
    }
    const offered = headerList(req.headers["sec-websocket-protocol"]);
    if (!offered.some((protocol) => EXEC_SUBPROTOCOLS.includes(protocol))) {
      return badRequest(`none of the offered subprotocols is supported: ${EXEC_SUBPROTOCOLS.join(", ")}`);
    }
    if (upgrade !== "websocket") return badRequest("Upgrade request required");
    return undefined;
  }

  private execRequestOf(entry: RecordedRequest): ExecRequest {
    const match = EXEC_PATH.exec(entry.path);
    const namespace = decodeSegment(match?.[1]) ?? "";
    const pod = decodeSegment(match?.[2]) ?? "";
    const podType = this.store.find("", "v1", "pods");
    const object = podType === undefined ? undefined : this.store.get(podType, namespace, pod);
    const container =
      entry.query.container?.[0] ?? (object === undefined ? "" : (containerNames(object)[0] ?? ""));
    return { namespace, pod, container, command: entry.query.command ?? [] };
  }

  private async runExec(ws: WebSocket, request: ExecRequest, entry: RecordedRequest): Promise<void> {
    const clientGone = new AbortController();
    ws.once("close", () => {
      clientGone.abort();
    });
    const stdin = isTrue(entry.query.stdin)
      ? collectStdin(ws, clientGone.signal)
      : Promise.resolve(undefined);
    stdin.catch(() => undefined); // Observed below, possibly only after the client is gone.
    try {
      await sleep(this.opts.execDelayMs ?? 0, undefined, { signal: clientGone.signal });
      const input = await stdin;
      const statusJson = await this.execute(
        input === undefined ? request : { ...request, stdin: input },
        ws,
        entry,
      );
      if (!isOpen(ws)) return;
      ws.send(frame(CHANNEL.error, Buffer.from(JSON.stringify(statusJson))));
      ws.close(1000);
    } catch (error) {
      if (!clientGone.signal.aborted) throw error;
    }
  }

  private async execute(request: ExecRequest, ws: WebSocket, entry: RecordedRequest): Promise<unknown> {
    const { outcome, status: statusJson } = await this.outcomeOf(request);
    if (outcome === undefined) return statusJson;
    if (!isOpen(ws)) return undefined;
    if (isTrue(entry.query.stdout)) sendStream(ws, CHANNEL.stdout, outcome.stdout);
    if (isTrue(entry.query.stderr)) sendStream(ws, CHANNEL.stderr, outcome.stderr);
    return statusJson;
  }

  /** Runs the command; the status is the kubelet's for its exit, or an internal error. */
  private async outcomeOf(request: ExecRequest): Promise<{ outcome?: ExecOutcome; status: unknown }> {
    const run = this.opts.exec;
    if (run === undefined) return { status: internalErrorStatus("no exec handler") };
    try {
      const outcome = await run(request);
      return { outcome, status: exitStatus(request.command, outcome.exitCode) };
    } catch (error) {
      return { status: internalErrorStatus(error instanceof Error ? error.message : String(error)) };
    }
  }

  /**
   * Exec over SPDY (remote command v4), as the kubelet serves it: a reply to each stream the client
   * opens; once error + the requested stdin/stdout/stderr are all open (and stdin half-closed), the
   * command runs, its output goes to stdout/stderr, its Status JSON to the error stream, every stream
   * is half-closed, and the connection ends with a GOAWAY once the client is done or after a grace time.
   */
  private async runSpdyExec(
    socket: Duplex,
    head: Buffer,
    request: ExecRequest,
    entry: RecordedRequest,
  ): Promise<void> {
    const wanted = ["error"];
    const tty = isTrue(entry.query.tty);
    for (const channel of ["stdin", "stdout", "stderr"] as const) {
      if (isTrue(entry.query[channel]) && !(channel === "stderr" && tty)) wanted.push(channel);
    }
    const streams = new Map<string, number>();
    const stdinChunks: Buffer[] = [];
    const opened = deferred();
    const stdinDone = deferred();
    const clientGone = new AbortController();
    const session = new SpdySession(socket, {
      stream: (id, headers, fin) => {
        session.reply(id);
        const type = headers.streamtype?.[0] ?? "";
        streams.set(type, id);
        if (type === "stdin" && fin) stdinDone.resolve();
        if (wanted.every((channel) => streams.has(channel))) opened.resolve();
      },
      data: (id, data) => {
        if (id === streams.get("stdin")) stdinChunks.push(data);
      },
      end: (id) => {
        if (id === streams.get("stdin")) stdinDone.resolve();
      },
      close: () => {
        clientGone.abort();
      },
    });
    this.spdySessions.add(session);
    const gone = new Promise<void>((resolve) => {
      clientGone.signal.addEventListener("abort", () => {
        resolve();
      });
    });
    try {
      session.receive(head);
      // The kubelet gives the client 30 s to open its streams.
      const ready = await Promise.race([
        opened.promise.then(() => true),
        gone.then(() => false),
        sleep(30_000, false, { ref: false }),
      ]);
      if (!ready) return;
      await sleep(this.opts.execDelayMs ?? 0, undefined, { signal: clientGone.signal });
      if (wanted.includes("stdin")) await Promise.race([stdinDone.promise, gone]);
      if (!session.isOpen()) return;
      const input = wanted.includes("stdin") ? { stdin: Buffer.concat(stdinChunks) } : {};
      const { outcome, status: statusJson } = await this.outcomeOf({ ...request, ...input });
      if (!session.isOpen()) return;
      const send = (channel: string, data: string | Buffer): void => {
        const id = streams.get(channel);
        if (id !== undefined && data.length > 0)
          session.send(id, typeof data === "string" ? Buffer.from(data) : data);
      };
      if (outcome !== undefined) {
        send("stdout", outcome.stdout);
        send("stderr", outcome.stderr);
      }
      send("error", Buffer.from(JSON.stringify(statusJson)));
      for (const id of streams.values()) session.finish(id);
      // The client closes the connection once it has read every stream; then, or after a grace time, GOAWAY.
      await Promise.race([gone, sleep(5_000, undefined, { ref: false })]);
      session.goAway(Math.max(0, ...streams.values()));
    } catch (error) {
      if (!clientGone.signal.aborted) throw error;
    } finally {
      this.spdySessions.delete(session);
    }
  }

  /** Ends every SPDY exec connection (the server is closing). */
  closeSpdySessions(): void {
    for (const session of this.spdySessions) session.destroy();
    this.spdySessions.clear();
  }
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve = (): void => undefined;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

function headerList(value: string | string[] | undefined): string[] {
  const values = Array.isArray(value) ? value : value === undefined ? [] : [value];
  return values
    .flatMap((v) => v.split(","))
    .map((p) => p.trim())
    .filter((p) => p !== "");
}

function validateExecQuery(
  query: Record<string, string[]>,
  pod: Record<string, unknown>,
  podName: string,
): Answer | undefined {
  const names = containerNames(pod);
  const container = query.container?.[0];
  if (container === undefined || container === "") {
    if (names.length !== 1) {
      return badRequest(
        `a container name must be specified for pod ${podName}, choose one of: [${names.join(" ")}]`,
      );
    }
  } else if (!names.includes(container) && !otherContainerNames(pod).includes(container)) {
    return badRequest(`container ${container} is not valid for pod ${podName}`);
  }
  if ((query.command ?? []).length === 0) return badRequest("you must specify at least 1 command");
  if (!isTrue(query.stdin) && !isTrue(query.stdout) && !isTrue(query.stderr)) {
    return badRequest("you must specify at least 1 of stdin, stdout, stderr");
  }
  const phase = fieldValue(pod, "status.phase");
  if (phase === "Succeeded" || phase === "Failed") {
    return badRequest(`cannot exec into a container in a completed pod; current phase is ${phase}`);
  }
  return undefined;
}

function containerNames(pod: Record<string, unknown>): string[] {
  return namesIn(pod, "containers");
}

function otherContainerNames(pod: Record<string, unknown>): string[] {
  return [...namesIn(pod, "initContainers"), ...namesIn(pod, "ephemeralContainers")];
}

function namesIn(pod: Record<string, unknown>, field: string): string[] {
  const spec = pod.spec;
  if (typeof spec !== "object" || spec === null) return [];
  const containers = (spec as Record<string, unknown>)[field];
  if (!Array.isArray(containers)) return [];
  return containers.flatMap((c: unknown) => {
    const name = typeof c === "object" && c !== null ? (c as Record<string, unknown>).name : undefined;
    return typeof name === "string" ? [name] : [];
  });
}

function labelsOf(object: Record<string, unknown>): Record<string, string> {
  const labels = metadataOf(object).labels;
  if (typeof labels !== "object" || labels === null) return {};
  return Object.fromEntries(
    Object.entries(labels).filter((entry): entry is [string, string] => typeof entry[1] === "string"),
  );
}

function matchesFields(
  requirements: FieldRequirement[],
  selectable: readonly string[],
  object: Record<string, unknown>,
): boolean {
  const fields = Object.fromEntries(selectable.map((field) => [field, fieldValue(object, field)]));
  return matchesFieldSelector(requirements, fields);
}

function pathSegments(path: string): string[] | undefined {
  const segments: string[] = [];
  for (const raw of path.split("/").filter((s) => s !== "")) {
    const decoded = decodeSegment(raw);
    if (decoded === undefined) return undefined;
    segments.push(decoded);
  }
  return segments;
}

function decodeSegment(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  try {
    return decodeURIComponent(raw);
  } catch {
    return undefined;
  }
}

function isTrue(values: string[] | undefined): boolean {
  return values?.[0] === "true" || values?.[0] === "1";
}

function rejectUpgrade(socket: Duplex, answer: Answer): void {
  const text = JSON.stringify(answer.body);
  const head = [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ""}`,
    "Content-Type: application/json",
    `Content-Length: ${Buffer.byteLength(text)}`,
    "Connection: close",
  ];
  socket.end(`${head.join("\r\n")}\r\n\r\n${text}`);
}

/**
 * Resolves with everything sent on the stdin channel once the client half-closes it (v5 [255, 0]);
 * rejects if the client goes away first (v4 clients close the whole socket when their stdin ends).
 */
function collectStdin(ws: WebSocket, clientGone: AbortSignal): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    clientGone.addEventListener("abort", () => {
      reject(new Error("client closed the exec stream before closing stdin"));
    });
    ws.on("message", (data: RawData) => {
      const message = Buffer.isBuffer(data)
        ? data
        : Buffer.concat(Array.isArray(data) ? data : [Buffer.from(data)]);
      const channel = message[0];
      if (channel === CHANNEL.stdin) chunks.push(message.subarray(1));
      if (channel === CHANNEL.close && message[1] === CHANNEL.stdin) resolve(Buffer.concat(chunks));
    });
  });
}

function isOpen(ws: WebSocket): boolean {
  return ws.readyState === ws.OPEN;
}

function frame(channel: number, payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from([channel]), payload]);
}

function sendStream(ws: WebSocket, channel: number, data: string | Buffer): void {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  for (let offset = 0; offset < bytes.length; offset += FRAME_PAYLOAD_BYTES) {
    ws.send(frame(channel, bytes.subarray(offset, offset + FRAME_PAYLOAD_BYTES)));
  }
}

/** The status the kubelet's streaming server writes on the error channel (no kind/apiVersion, no code). */
function exitStatus(command: string[], exitCode: number): unknown {
  if (exitCode === 0) return { metadata: {}, status: "Success" };
  return {
    metadata: {},
    status: "Failure",
    message: `command terminated with non-zero exit code: error executing command [${command.join(" ")}], exit code ${exitCode}`,
    reason: "NonZeroExitCode",
    details: { causes: [{ reason: "ExitCode", message: String(exitCode) }] },
  };
}

function internalErrorStatus(message: string): unknown {
  const cause = `error executing command in container: ${message}`;
  return {
    metadata: {},
    status: "Failure",
    message: `Internal error occurred: ${cause}`,
    reason: "InternalError",
    details: { causes: [{ message: cause }] },
    code: 500,
  };
}
