// Server-side printing: the meta.k8s.io Table a real API server answers when the client asks for
// `application/json;as=Table;v=v1;g=meta.k8s.io` (what `kubectl get` sends). Columns and cells follow
// the API server's printers (kubernetes/pkg/printers/internalversion/printers.go) for the kinds the lab
// has; any other kind gets the default convertor's Name / Created At.

type Obj = Record<string, unknown>;

export interface TableColumn {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRow {
  cells: unknown[];
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  object?: Obj;
}

/** What the client accepts first: a Table of a version of meta.k8s.io, or plain JSON. */
export function acceptedTableVersion(accept: string | undefined): "v1" | "v1beta1" | undefined {
  for (const mediaType of (accept ?? "").split(",")) {
    const [type, ...params] = mediaType.split(";").map((p) => p.trim());
    const param = (key: string): string | undefined =>
      params.find((p) => p.startsWith(`${key}=`))?.slice(key.length + 1);
    if (type === "application/json" && param("as") === "Table" && param("g") === "meta.k8s.io") {
      const version = param("v");
      if (version === "v1" || version === "v1beta1") return version;
      continue; // a Table version this server does not print: try the next media type
    }
    if (type === "application/json" || type === "*/*" || type === "application/*") return undefined;
  }
  return undefined;
}

const column = (name: string, type: string, description: string, priority = 0, format = ""): TableColumn => ({
  name,
  type,
  format,
  description,
  priority,
});

const NAME = column("Name", "string", "Name must be unique within a namespace.", 0, "name");
const AGE = column(
  "Age",
  "string",
  "CreationTimestamp is a timestamp representing the server time when this object was created.",
);

interface Printer {
  columns: TableColumn[];
  cells(object: Obj, now: number): unknown[];
  conditions?(object: Obj): TableRow["conditions"];
}

const PRINTERS: Record<string, Printer> = {
  Pod: {
    columns: [
      NAME,
      column("Ready", "string", "The aggregate readiness state of this pod for accepting traffic."),
      column("Status", "string", "The aggregate status of the containers in this pod."),
      column(
        "Restarts",
        "string",
        "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted.",
      ),
      AGE,
      column("IP", "string", "IP address allocated to the pod. Routable at least within the cluster.", 1),
      column("Node", "string", "NodeName indicates in which node this pod is scheduled.", 1),
      column(
        "Nominated Node",
        "string",
        "nominatedNodeName is set only when this pod preempts other pods on the node.",
        1,
      ),
      column(
        "Readiness Gates",
        "string",
        "If specified, all readiness gates will be evaluated for pod readiness.",
        1,
      ),
    ],
    cells: podCells,
    conditions(pod) {
      const phase = str(get(pod, "status", "phase"));
      return phase === "Succeeded" || phase === "Failed"
        ? [
            {
              type: "Completed",
              status: "True",
              reason: phase,
              message: "The pod has completed successfully.",
            },
          ]
        : undefined;
    },
  },
  Service: {
    columns: [
      NAME,
      column("Type", "string", "The type of service: ClusterIP, NodePort, LoadBalancer or ExternalName."),
      column("Cluster-IP", "string", "The IP address of the service, usually assigned randomly."),
      column("External-IP", "string", "The external IP addresses of the service."),
      column("Port(s)", "string", "The ports that are exposed by this service."),
      AGE,
      column(
        "Selector",
        "string",
        "Route service traffic to pods with label keys and values matching this selector.",
        1,
      ),
    ],
    cells: (svc, now) => {
      const type = str(get(svc, "spec", "type")) || "ClusterIP";
      const clusterIP = str(get(svc, "spec", "clusterIP")) || "<none>";
      return [
        nameOf(svc),
        type,
        clusterIP,
        serviceExternalIP(svc, type),
        servicePorts(arr(get(svc, "spec", "ports"))),
        age(svc, now),
        formatLabels(rec(get(svc, "spec", "selector"))),
      ];
    },
  },
  NetworkPolicy: {
    columns: [
      NAME,
      column("Pod-Selector", "string", "Selects the pods to which this NetworkPolicy object applies."),
      AGE,
    ],
    cells: (policy, now) => [
      nameOf(policy),
      formatLabelSelector(rec(get(policy, "spec", "podSelector"))),
      age(policy, now),
    ],
  },
  Namespace: {
    columns: [NAME, column("Status", "string", "The status of the namespace"), AGE],
    cells: (ns, now) => [nameOf(ns), str(get(ns, "status", "phase")) || "Active", age(ns, now)],
  },
  Node: {
    columns: [
      NAME,
      column("Status", "string", "The status of the node"),
      column("Roles", "string", "The roles of the node"),
      AGE,
      column("Version", "string", "Kubelet Version reported by the node."),
      column(
        "Internal-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available.",
        1,
      ),
      column(
        "External-IP",
        "string",
        "List of addresses reachable to the node. Queried from cloud provider, if available.",
        1,
      ),
      column(
        "OS-Image",
        "string",
        "OS Image reported by the node from /etc/os-release (e.g. Debian GNU/Linux 7 (wheezy)).",
        1,
      ),
      column(
        "Kernel-Version",
        "string",
        "Kernel Version reported by the node from 'uname -r' (e.g. 3.16.0-0.bpo.4-amd64).",
        1,
      ),
      column(
        "Container-Runtime",
        "string",
        "ContainerRuntime Version reported by the node through runtime remote API (e.g. containerd://1.4.2).",
        1,
      ),
    ],
    cells: (node, now) => {
      const addresses = arr(get(node, "status", "addresses")).map(rec);
      const address = (type: string): string =>
        str(addresses.find((a) => a.type === type)?.address) || "<none>";
      const info = (field: string): string => str(get(node, "status", "nodeInfo", field)) || "<unknown>";
      return [
        nameOf(node),
        nodeStatus(node),
        nodeRoles(node),
        age(node, now),
        str(get(node, "status", "nodeInfo", "kubeletVersion")),
        address("InternalIP"),
        address("ExternalIP"),
        info("osImage"),
        info("kernelVersion"),
        info("containerRuntimeVersion"),
      ];
    },
  },
  EndpointSlice: {
    columns: [
      NAME,
      column("AddressType", "string", "The IP protocol for this slice"),
      column("Ports", "string", "The ports for this slice"),
      column("Endpoints", "string", "The endpoint addresses for this slice"),
      AGE,
    ],
    cells: (slice, now) => {
      const ports = arr(slice.ports).map(rec);
      const addresses = arr(slice.endpoints).flatMap((e) => arr(rec(e).addresses).map(str));
      return [
        nameOf(slice),
        str(slice.addressType),
        ports.length === 0
          ? "<unset>"
          : ports
              .map((p) =>
                typeof p.port === "number" || typeof p.port === "string" ? String(p.port) : "<unset>",
              )
              .join(","),
        addresses.length === 0 ? "<unset>" : truncatedList(addresses, 3),
        age(slice, now),
      ];
    },
  },
};

const DEFAULT_PRINTER: Printer = {
  columns: [
    NAME,
    column(
      "Created At",
      "date",
      "CreationTimestamp is a timestamp representing the server time when this object was created.",
    ),
  ],
  cells: (object) => [nameOf(object), str(get(object, "metadata", "creationTimestamp"))],
};

/**
 * The Table of `objects` (all of `kind`), rows in the given order. `includeObject` is the query
 * parameter of that name: Metadata (the default) puts a PartialObjectMetadata in each row, which is
 * where kubectl reads the namespace of `-A` and the labels of `--show-labels`.
 */
export function toTable(
  kind: string,
  objects: readonly Obj[],
  options: {
    version: "v1" | "v1beta1";
    includeObject: string | undefined;
    resourceVersion: string;
    now?: number;
  },
): unknown {
  const printer = PRINTERS[kind] ?? DEFAULT_PRINTER;
  const now = options.now ?? Date.now();
  const include = options.includeObject ?? "Metadata";
  const apiVersion = `meta.k8s.io/${options.version}`;
  const rows = objects.map((object) => {
    const row: TableRow = { cells: printer.cells(object, now) };
    const conditions = printer.conditions?.(object);
    if (conditions !== undefined) row.conditions = conditions;
    if (include === "Metadata") {
      row.object = { kind: "PartialObjectMetadata", apiVersion, metadata: rec(object.metadata) };
    } else if (include === "Object") {
      row.object = object;
    }
    return row;
  });
  return {
    kind: "Table",
    apiVersion,
    metadata: { resourceVersion: options.resourceVersion },
    columnDefinitions: printer.columns,
    rows,
  };
}

function podCells(pod: Obj, now: number): unknown[] {
  const containers = arr(get(pod, "spec", "containers"));
  const statuses = arr(get(pod, "status", "containerStatuses")).map(rec);
  let reason = str(get(pod, "status", "reason")) || str(get(pod, "status", "phase"));
  let restarts = 0;
  let ready = 0;
  let running = false;
  for (const status of [...statuses].reverse()) {
    restarts += typeof status.restartCount === "number" ? status.restartCount : 0;
    const state = rec(status.state);
    const waiting = rec(state.waiting);
    const terminated = state.terminated === undefined ? undefined : rec(state.terminated);
    if (str(waiting.reason) !== "") reason = str(waiting.reason);
    else if (terminated !== undefined && str(terminated.reason) !== "") reason = str(terminated.reason);
    else if (terminated !== undefined) {
      reason =
        typeof terminated.signal === "number" && terminated.signal !== 0
          ? `Signal:${terminated.signal}`
          : `ExitCode:${typeof terminated.exitCode === "number" ? terminated.exitCode : 0}`;
    } else if (status.ready === true && state.running !== undefined) {
      running = true;
      ready++;
    }
  }
  if (reason === "Completed" && running) reason = "Running";
  if (get(pod, "metadata", "deletionTimestamp") !== undefined)
    reason = reason === "NodeLost" ? "Unknown" : "Terminating";
  const podIPs = arr(get(pod, "status", "podIPs")).map(rec);
  const ip = str(podIPs[0]?.ip) || str(get(pod, "status", "podIP")) || "<none>";
  const gates = arr(get(pod, "spec", "readinessGates")).map(rec);
  const conditions = arr(get(pod, "status", "conditions")).map(rec);
  const gatesText =
    gates.length === 0
      ? "<none>"
      : `${gates.filter((g) => conditions.some((c) => c.type === g.conditionType && c.status === "True")).length}/${gates.length}`;
  return [
    nameOf(pod),
    `${ready}/${containers.length}`,
    reason,
    String(restarts),
    age(pod, now),
    ip,
    str(get(pod, "spec", "nodeName")) || "<none>",
    str(get(pod, "status", "nominatedNodeName")) || "<none>",
    gatesText,
  ];
}

function serviceExternalIP(svc: Obj, type: string): string {
  const externalIPs = arr(get(svc, "spec", "externalIPs")).map(str);
  switch (type) {
    case "ClusterIP":
    case "NodePort":
      return externalIPs.length > 0 ? externalIPs.join(",") : "<none>";
    case "LoadBalancer": {
      const ingress = arr(get(svc, "status", "loadBalancer", "ingress"))
        .map(rec)
        .map((i) => str(i.ip) || str(i.hostname))
        .filter((a) => a !== "");
      const all = [...ingress, ...externalIPs];
      return all.length > 0 ? all.join(",") : "<pending>";
    }
    case "ExternalName":
      return str(get(svc, "spec", "externalName"));
    default:
      return "<unknown>";
  }
}

function servicePorts(ports: unknown[]): string {
  if (ports.length === 0) return "<none>";
  return ports
    .map(rec)
    .map((p) => {
      const protocol = str(p.protocol) || "TCP";
      const port = typeof p.port === "number" ? p.port : 0;
      return typeof p.nodePort === "number" && p.nodePort !== 0
        ? `${port}:${p.nodePort}/${protocol}`
        : `${port}/${protocol}`;
    })
    .join(",");
}

function nodeStatus(node: Obj): string {
  const ready = arr(get(node, "status", "conditions"))
    .map(rec)
    .find((c) => c.type === "Ready");
  let text = ready === undefined ? "Unknown" : ready.status === "True" ? "Ready" : "NotReady";
  if (get(node, "spec", "unschedulable") === true) text += ",SchedulingDisabled";
  return text;
}

function nodeRoles(node: Obj): string {
  const roles = new Set<string>();
  for (const [key, value] of Object.entries(rec(get(node, "metadata", "labels")))) {
    if (key.startsWith("node-role.kubernetes.io/")) {
      const role = key.slice("node-role.kubernetes.io/".length);
      if (role !== "") roles.add(role);
    } else if (key === "kubernetes.io/role" && typeof value === "string" && value !== "") {
      roles.add(value);
    }
  }
  return roles.size === 0 ? "<none>" : [...roles].sort().join(",");
}

/** labels.FormatLabels: sorted key=value pairs, "<none>" when empty. */
function formatLabels(labels: Obj): string {
  const pairs = Object.keys(labels)
    .sort()
    .map((key) => `${key}=${str(labels[key])}`);
  return pairs.length === 0 ? "<none>" : pairs.join(",");
}

/** metav1.FormatLabelSelector: requirements sorted by key, "<none>" for the empty selector. */
function formatLabelSelector(selector: Obj): string {
  const requirements: [string, string][] = Object.entries(rec(selector.matchLabels)).map(([key, value]) => [
    key,
    `${key}=${str(value)}`,
  ]);
  for (const expression of arr(selector.matchExpressions).map(rec)) {
    const key = str(expression.key);
    const values = arr(expression.values).map(str).sort().join(",");
    const text: Record<string, string> = {
      In: `${key} in (${values})`,
      NotIn: `${key} notin (${values})`,
      Exists: key,
      DoesNotExist: `!${key}`,
    };
    requirements.push([key, text[str(expression.operator)] ?? "<error>"]);
  }
  requirements.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  return requirements.length === 0 ? "<none>" : requirements.map(([, text]) => text).join(",");
}

function truncatedList(items: string[], max: number): string {
  return items.length > max
    ? `${items.slice(0, max).join(",")} + ${items.length - max} more...`
    : items.join(",");
}

function age(object: Obj, now: number): string {
  const created = str(get(object, "metadata", "creationTimestamp"));
  if (created === "") return "<unknown>";
  const then = Date.parse(created);
  return Number.isNaN(then) ? "<unknown>" : humanDuration(now - then);
}

/** k8s.io/apimachinery/pkg/util/duration.HumanDuration, the Age column's format. */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 60 * 2) return `${seconds}s`;
  const minutes = Math.trunc(seconds / 60);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 60 * 3) return `${minutes}m`;
  const hours = Math.trunc(minutes / 60);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  const days = Math.trunc(hours / 24);
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${days}d` : `${days}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${days}d`;
  const years = Math.trunc(days / 365);
  if (hours < 24 * 365 * 8) {
    const d = days % 365;
    return d === 0 ? `${years}y` : `${years}y${d}d`;
  }
  return `${years}y`;
}

function get(object: unknown, ...path: string[]): unknown {
  let current = object;
  for (const key of path) {
    if (typeof current !== "object" || current === null) return undefined;
    current = (current as Obj)[key];
  }
  return current;
}

function rec(value: unknown): Obj {
  return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Obj) : {};
}

function arr(value: unknown): unknown[] {
  return Array.isArray(value) ? (value as unknown[]) : [];
}

function str(value: unknown): string {
  return typeof value === "string" ? value : "";
}

function nameOf(object: Obj): string {
  return str(get(object, "metadata", "name"));
}
