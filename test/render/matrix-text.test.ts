import { describe, expect, it } from "vitest";
import type { MatrixCell, ReachabilityMatrix } from "../../src/model/matrix.js";
import { cellWords, renderMatrixText } from "../../src/render/matrix-text.js";

/** The matrix's text: numbered destinations, one mark per destination and port, the legend, why, counts. */

const np = (namespace: string, name: string) => ({ kind: "NetworkPolicy", namespace, name });

const cell = (
  from: number,
  to: number,
  port: number,
  rest: Omit<MatrixCell, "from" | "to" | "port">,
): MatrixCell => ({
  from,
  to,
  port,
  ...rest,
});

const DENY = "denied by the ingress default deny of NetworkPolicy shop/deny (namespace shop, pod shop/b)";

function matrix(over: Partial<ReachabilityMatrix> = {}): ReachabilityMatrix {
  return {
    schemaVersion: "1.0",
    kind: "ReachabilityMatrix",
    tool: { name: "ovnkube-trace", version: "0.1.0" },
    cluster: { backend: "lab", description: 'lab "t" (interconnect) in /tmp/t', shape: "interconnect" },
    method: "ovn-trace",
    family: 4,
    srcPort: 52888,
    selection: {
      from: { namespaces: ["shop"], selector: "" },
      to: { namespaces: ["shop"], selector: "", services: true },
    },
    ports: [
      { protocol: "tcp", port: 8080 },
      { protocol: "udp", port: 53 },
    ],
    sources: [
      { kind: "pod", namespace: "shop", name: "a", node: "n1", ip: "10.244.0.5", labels: {} },
      { kind: "pod", namespace: "shop", name: "client-long-name", node: "n2", ip: "10.244.1.5", labels: {} },
    ],
    destinations: [
      { kind: "pod", namespace: "shop", name: "a", node: "n1", ip: "10.244.0.5", labels: {} },
      { kind: "pod", namespace: "shop", name: "b", node: "n2", ip: "10.244.1.6", labels: {} },
      { kind: "service", namespace: "shop", name: "web", ip: "10.96.0.80", ports: [0] },
    ],
    cells: [
      cell(0, 0, 0, { verdict: "self", explanation: "the pod itself", objects: [] }),
      cell(0, 0, 1, { verdict: "self", explanation: "the pod itself", objects: [] }),
      cell(0, 1, 0, {
        verdict: "allowed",
        explanation: "allowed: matched by ingress rule 0 of NetworkPolicy shop/web",
        objects: [np("shop", "web")],
        direction: "ingress",
      }),
      cell(0, 1, 1, {
        verdict: "dropped",
        explanation: DENY,
        objects: [{ kind: "Namespace", name: "shop" }, np("shop", "deny")],
        direction: "ingress",
        node: "n2",
        where: "n2 ls_out_acl priority 2000",
      }),
      cell(0, 2, 0, {
        verdict: "mixed",
        explanation: "its 2 backends differ",
        objects: [np("shop", "deny")],
        backends: [],
      }),
      cell(1, 0, 0, { verdict: "allowed", explanation: "no NetworkPolicy isolates either pod", objects: [] }),
      cell(1, 0, 1, { verdict: "unknown", explanation: "n1: timed out", objects: [] }),
      cell(1, 1, 0, {
        verdict: "dropped",
        explanation: DENY,
        objects: [np("shop", "deny"), { kind: "Namespace", name: "shop" }],
        direction: "ingress",
      }),
      cell(1, 1, 1, {
        verdict: "dropped",
        explanation: DENY,
        objects: [np("shop", "deny")],
        direction: "ingress",
      }),
      cell(1, 2, 0, {
        verdict: "rejected",
        explanation: "Service shop/web has no ready endpoints",
        objects: [{ kind: "Service", namespace: "shop", name: "web" }],
      }),
    ],
    skipped: [{ namespace: "shop", name: "exporter", why: "host-network pod" }],
    counts: { allowed: 2, dropped: 3, rejected: 1, mixed: 1, unknown: 1, self: 2 },
    stats: { cells: 10, ovnTraces: 12, fullTraces: 0, elapsedMs: 250, cellsPerSecond: 40 },
    ...over,
  };
}

describe("the matrix as text", () => {
  it("numbers the destinations, marks each cell, groups the cells by what decided them", () => {
    expect(renderMatrixText(matrix())).toBe(
      [
        "reachability of 2 source pod(s) to 3 destination(s) on tcp/8080, udp/53: 10 cells",
        'lab "t" (interconnect) in /tmp/t; IPv4, source port 52888; the first packet of each connection, through OVN\'s logical pipeline (ovn-trace)',
        "",
        "destinations (columns; one mark per port: tcp/8080 udp/53):",
        "  1 shop/a            10.244.0.5 on n1",
        "  2 shop/b            10.244.1.6 on n2",
        "  3 service shop/web  10.96.0.80 (tcp/8080)",
        "",
        "source \\ destination    1  2  3",
        "shop/a                 == ✓✗ ~·",
        "shop/client-long-name  ✓? ✗✗ R·",
        "",
        "legend: ✓ allowed, ✗ dropped, R rejected (OVN answers the sender), ~ a Service's backends differ, ? unknown, = the pod itself (not traced), · the Service has no such port",
        "",
        "why (cells by what decided them):",
        "  ✗ 3 dropped: ingress default deny of NetworkPolicy shop/deny",
        `      e.g. shop/a → shop/b udp/53: ${DENY}`,
        "  R 1 rejected: Service shop/web rejects",
        "      e.g. shop/client-long-name → service shop/web tcp/8080: Service shop/web has no ready endpoints",
        "  ~ 1 mixed: backends differ: NetworkPolicy shop/deny",
        "      e.g. shop/a → service shop/web tcp/8080: its 2 backends differ",
        "  ? 1 unknown: no verdict",
        "      e.g. shop/client-long-name → shop/a udp/53: n1: timed out",
        "  ✓ 1 allowed: ingress rules of NetworkPolicy shop/web",
        "      e.g. shop/a → shop/b tcp/8080: allowed: matched by ingress rule 0 of NetworkPolicy shop/web",
        "  ✓ 1 allowed: no NetworkPolicy isolates either pod",
        "      e.g. shop/client-long-name → shop/a tcp/8080: no NetworkPolicy isolates either pod",
        "",
        "left out:",
        "  shop/exporter: host-network pod",
        "",
        "allowed 2, dropped 3, rejected 1, mixed 1, unknown 1, self 2; 10 cells in 0.3 s (40 cells/s, 12 ovn-trace runs)",
        "",
      ].join("\n"),
    );
  });

  it("marks where OpenFlow disagrees and lists those cells", () => {
    const m = matrix();
    const cells = m.cells.map((c) =>
      c.verdict === "self"
        ? c
        : {
            ...c,
            openflow: {
              verdict: c.from === 1 && c.to === 1 && c.port === 0 ? ("allowed" as const) : c.verdict,
              agrees: !(c.from === 1 && c.to === 1 && c.port === 0),
              explanation: "delivered to shop/b on n2",
            },
          },
    );
    const text = renderMatrixText({
      ...m,
      method: "ovn-trace+openflow",
      cells,
      stats: { ...m.stats, fullTraces: 8 },
    });
    expect(text).toContain("shop/client-long-name  ✓? !✗ R·\n");
    expect(text).toContain(", · the Service has no such port, ! OpenFlow disagrees\n");
    expect(text).toContain(
      "OpenFlow disagrees on 1 cell(s):\n  shop/client-long-name → shop/b tcp/8080: ovn-trace dropped; OpenFlow allowed: delivered to shop/b on n2\n",
    );
    expect(text).toContain("12 ovn-trace runs, 8 full traces)");
  });

  it("colours the marks on a terminal only, and says when nothing matched", () => {
    expect(renderMatrixText(matrix(), { color: true })).toContain("\x1b[32m✓\x1b[0m\x1b[31m✗\x1b[0m");
    expect(renderMatrixText(matrix())).not.toContain("\x1b[");
    const none = renderMatrixText(matrix({ sources: [], cells: [] }));
    expect(none.split("\n").slice(2)).toEqual(["", "no source pod matches", ""]);
  });

  it("names a cell", () => {
    const m = matrix();
    expect(m.cells.map((c) => cellWords(m, c)).slice(3, 5)).toEqual([
      "shop/a → shop/b udp/53",
      "shop/a → service shop/web tcp/8080",
    ]);
  });
});
