import { readFileSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ClusterBackend } from "../../src/cluster/backend.js";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { SnapshotBackend } from "../../src/backends/snapshot/backend.js";
import { resolveTarget } from "../../src/engine/resolve.js";
import { runTraces } from "../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, runOnNode, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import type { EgressFirewallRule } from "../../src/lab/egress-firewall-scenario.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { hashForOvn } from "../../src/lab/ovnk-names.js";
import { probe, type ProbeResult } from "../../src/lab/probe.js";
import type { TraceReport, Verdict } from "../../src/model/report.js";
import type { TraceTarget } from "../../src/model/target.js";
import { agree, probeOf } from "../helpers/fidelity.js";
import { labSnapshots } from "../helpers/bare-snapshot.js";
import { newLabDir, waitForMacLearning } from "../helpers/lab.js";

/**
 * EgressFirewall, ground truth: examples/egress-firewall.yaml gives namespace payments an EgressFirewall (Allow HTTPS
 * and DNS to a partner network, Allow a DNS name, Allow the API server port on the nodes' network, then Deny the
 * partner network, 10.0.0.0/8 and everything). A real packet from a payments pod to addresses outside the cluster
 * (allowed and denied), to the nodes' own network (a CIDR inside the cluster: allowed and denied), and to a pod and a
 * Service inside the cluster network (never affected, though 10.0.0.0/8 and 0.0.0.0/0 are denied) must do what the
 * trace says (fidelity.ts: verdict, node, pod or exit, all four addresses on arrival); the trace must name the
 * EgressFirewall and the rule that decided. Both shapes; then the same verdicts from a snapshot of the lab, with and
 * without its Kubernetes objects.
 */

const checkout = { namespace: "payments", name: "checkout-7d9f8b6c4-x2kqp" };
const client = { namespace: "default", name: "client" };

interface Case {
  readonly name: string;
  readonly target: TraceTarget;
  /** What the real packet must do (the case is about that). */
  readonly real: "left-cluster" | "not-delivered" | "delivered" | "delivered-to-host";
  /** The rule of payments' EgressFirewall the scenario says decides it (none: the firewall does not apply). */
  readonly rule?: number;
}

const tcp = (src: Case["target"]["src"], ip: string, dstPort: number): TraceTarget => ({
  src,
  dst: { kind: "ip", ip },
  protocol: "tcp",
  dstPort,
  family: ip.includes(":") ? 6 : 4,
});
const ledger = (family: 4 | 6): TraceTarget => ({
  src: checkout,
  dst: { kind: "pod", namespace: "payments", name: "ledger-5c8d7f9b6-m4ztr" },
  protocol: "tcp",
  dstPort: 8080,
  family,
});

const CASES: readonly Case[] = [
  {
    name: "HTTPS to the partner network: allowed",
    target: tcp(checkout, "198.51.100.7", 443),
    real: "left-cluster",
    rule: 0,
  },
  {
    name: "DNS (UDP) to the partner network: allowed",
    target: { ...tcp(checkout, "198.51.100.53", 53), protocol: "udp" },
    real: "left-cluster",
    rule: 0,
  },
  {
    name: "HTTP to the partner network: denied",
    target: tcp(checkout, "198.51.100.7", 80),
    real: "not-delivered",
    rule: 4,
  },
  {
    name: "an IPv4 address the DNS name resolves to: allowed",
    target: tcp(checkout, "203.0.113.10", 443),
    real: "left-cluster",
    rule: 1,
  },
  {
    name: "an IPv6 address the DNS name resolves to: allowed",
    target: tcp(checkout, "2001:db8:cafe::10", 443),
    real: "left-cluster",
    rule: 1,
  },
  {
    name: "HTTPS to the partner's IPv6 network: allowed",
    target: tcp(checkout, "2001:db8:100::7", 443),
    real: "left-cluster",
    rule: 3,
  },
  {
    name: "HTTP to the partner's IPv6 network: denied",
    target: tcp(checkout, "2001:db8:100::7", 80),
    real: "not-delivered",
    rule: 7,
  },
  {
    name: "an address no rule allows: denied",
    target: tcp(checkout, "203.0.113.99", 443),
    real: "not-delivered",
    rule: 6,
  },
  {
    name: "the API server port of another node (the nodes' network): allowed",
    target: tcp(checkout, "172.18.0.2", 6443),
    real: "left-cluster",
    rule: 2,
  },
  {
    name: "SSH to its own node's IP (the nodes' network): denied",
    target: tcp(checkout, "172.18.0.3", 22),
    real: "not-delivered",
    rule: 6,
  },
  {
    name: "SSH to its own node's IPv6 address: denied",
    target: tcp(checkout, "fc00:f853:ccd:e793::3", 22),
    real: "not-delivered",
    rule: 7,
  },
  {
    name: "a private address in 10.0.0.0/8: denied",
    target: tcp(checkout, "10.1.2.3", 80),
    real: "not-delivered",
    rule: 5,
  },
  {
    name: "a pod in the cluster network (inside the denied 10.0.0.0/8): not affected",
    target: ledger(4),
    real: "delivered",
  },
  {
    name: "a pod's IPv6 address (inside the denied ::/0): not affected",
    target: ledger(6),
    real: "delivered",
  },
  {
    name: "a Service of the cluster: not affected",
    target: {
      src: checkout,
      dst: { kind: "service", namespace: "payments", name: "ledger" },
      protocol: "tcp",
      dstPort: 80,
      family: 4,
    },
    real: "delivered",
  },
  {
    name: "a namespace without an EgressFirewall: HTTP to the partner network leaves",
    target: tcp(client, "198.51.100.7", 80),
    real: "left-cluster",
  },
  {
    name: "a namespace without an EgressFirewall: SSH to its node's IP reaches the host",
    target: tcp(client, "172.18.0.3", 22),
    real: "delivered-to-host",
  },
];

const EF = { kind: "EgressFirewall", namespace: "payments", name: "default" };
const namesFirewall = (v: Verdict): boolean =>
  "objects" in v &&
  (v.objects ?? []).some((o) => o.kind === EF.kind && o.namespace === EF.namespace && o.name === EF.name);

/** What the trace says decided it: the drop's explanation, or the rule that let it leave. */
const decidedBy = (v: Verdict): string =>
  v.kind === "dropped" ? (v.explanation ?? "") : v.kind === "left-cluster" ? (v.allowedBy ?? "") : "";

/** The verdict and what decided it, as one comparable line. */
const summaryOf = (r: TraceReport | undefined): string => {
  const v = r?.forward.verdict;
  return v === undefined ? "none" : `${v.kind} ${"node" in v ? v.node : ""} ${decidedBy(v)}`;
};

/** A rule as comparable text (ports in any order: OVN keeps them by protocol). */
const ruleText = (r: EgressFirewallRule): string =>
  `${r.type} ${"cidrSelector" in r.to ? r.to.cidrSelector : r.to.dnsName} ${(r.ports ?? [])
    .map((p) => `${p.protocol}/${String(p.port ?? "*")}`)
    .sort()
    .join(",")}`;

const tally = { agree: 0, total: 0 };

async function trace(b: ClusterBackend, c: Case, srcPort: number): Promise<TraceReport> {
  const reports = await runTraces(b, await resolveTarget(b, c.target), { skipDetrace: true, srcPort });
  const r = reports[0];
  if (r === undefined) throw new Error(`no report for ${c.name}`);
  return r;
}

describe.each(["central", "interconnect"] as const)(
  "EgressFirewall: traces agree with real packets (%s)",
  (shape) => {
    let state: LabState;
    let live: LabBackend;
    const liveSummaries = new Map<string, { summary: string; srcPort: number }>();

    beforeAll(async () => {
      state = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}egress-firewall.yaml`, shape), newLabDir()))
        .state;
      live = LabBackend.open(state.dir);
    });
    afterAll(async () => {
      await labDown(state.dir);
    });

    it("writes the ACLs, port group and DNS address set as ovnkube-controller does, in every zone", async () => {
      const pg = hashForOvn("default-network-controller:Namespace:payments");
      const dnsSet4 = hashForOvn("default-network-controller:EgressFirewallDNS:api.partner.example:v4");
      const dnsSet6 = hashForOvn("default-network-controller:EgressFirewallDNS:api.partner.example:v6");
      for (const n of state.cluster.nodes) {
        const acls = await runOnNode(state, n.name, [
          "ovn-nbctl",
          "--format=csv",
          "--data=bare",
          "--no-headings",
          "--columns=name,priority,direction,action,match,external_ids,options",
          "find",
          "acl",
          "external_ids:k8s.ovn.org/owner-type=EgressFirewall",
        ]);
        const rows = acls.stdout.trim().split("\n").sort();
        expect(rows, n.name).toEqual([
          `EF:payments:0,10000,to-lport,allow,(ip4.dst == 198.51.100.0/24) && inport == @${pg} && ((udp && ( udp.dst == 53 )) || (tcp && ( tcp.dst == 443 ))),k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:0 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=0,`,
          `EF:payments:1,9999,to-lport,allow,(ip4.dst == $${dnsSet4} || ip6.dst == $${dnsSet6}) && inport == @${pg},k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:1 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=1,`,
          `EF:payments:2,9998,to-lport,allow,(ip4.dst == 172.18.0.0/16) && inport == @${pg} && ((tcp && ( tcp.dst == 6443 ))),k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:2 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=2,`,
          `EF:payments:3,9997,to-lport,allow,(ip6.dst == 2001:db8:100::/64) && inport == @${pg} && ((tcp && ( tcp.dst == 443 ))),k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:3 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=3,`,
          `EF:payments:4,9996,to-lport,drop,(ip4.dst == 198.51.100.0/24) && inport == @${pg},k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:4 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=4,`,
          `EF:payments:5,9995,to-lport,drop,(ip4.dst == 10.0.0.0/8 && ip4.dst != 10.244.0.0/16) && inport == @${pg},k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:5 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=5,`,
          `EF:payments:6,9994,to-lport,drop,(ip4.dst == 0.0.0.0/0 && ip4.dst != 10.244.0.0/16) && inport == @${pg},k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:6 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=6,`,
          `EF:payments:7,9993,to-lport,drop,(ip6.dst == ::/0 && ip6.dst != fd00:10:244::/48) && inport == @${pg},k8s.ovn.org/id=default-network-controller:EgressFirewall:payments:7 k8s.ovn.org/name=payments k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewall rule-index=7,`,
        ]);
        // the DNS name's address set per family: what it resolves to, without the addresses inside the cluster network
        for (const [set, family, addresses] of [
          [dnsSet4, "v4", "203.0.113.10 203.0.113.11"],
          [dnsSet6, "v6", "2001:db8:cafe::10"],
        ] as const) {
          const row = await runOnNode(state, n.name, [
            "ovn-nbctl",
            "--data=bare",
            "--no-headings",
            "--columns=addresses,external_ids",
            "list",
            "address_set",
            set,
          ]);
          expect(row.stdout, `${n.name} ${family}`).toBe(
            `${addresses}\nip-family=${family} k8s.ovn.org/id=default-network-controller:EgressFirewallDNS:api.partner.example:${family} k8s.ovn.org/name=api.partner.example k8s.ovn.org/owner-controller=default-network-controller k8s.ovn.org/owner-type=EgressFirewallDNS\n`,
          );
        }
        // the namespace's port group: its pods of the zone (every pod in a central cluster, the node's own in interconnect)
        const ports = await runOnNode(state, n.name, [
          "ovn-nbctl",
          "--data=bare",
          "--no-headings",
          "--columns=ports",
          "list",
          "port_group",
          pg,
        ]);
        const names = await Promise.all(
          ports.stdout
            .trim()
            .split(/\s+/)
            .filter(Boolean)
            .map(async (u) =>
              (
                await runOnNode(state, n.name, [
                  "ovn-nbctl",
                  "--data=bare",
                  "--no-headings",
                  "--columns=name",
                  "list",
                  "logical_switch_port",
                  u,
                ])
              ).stdout.trim(),
            ),
        );
        const want = [
          ...(shape === "central" || n.name === "ovn-worker" ? ["payments_checkout-7d9f8b6c4-x2kqp"] : []),
          ...(shape === "central" || n.name === "ovn-worker2" ? ["payments_ledger-5c8d7f9b6-m4ztr"] : []),
        ];
        expect(names.sort(), n.name).toEqual(want);
      }
    });

    it("kubernetes.json has the EgressFirewall as the API serves it", () => {
      const items = (
        JSON.parse(readFileSync(labLayout(state.dir).kubernetesFile, "utf8")) as {
          items: {
            kind: string;
            apiVersion: string;
            metadata: { namespace?: string; name: string };
            spec?: { egress?: unknown[] };
          }[];
        }
      ).items;
      const efs = items.filter((o) => o.kind === "EgressFirewall");
      expect(
        efs.map(
          (o) =>
            `${o.apiVersion} ${o.metadata.namespace ?? ""}/${o.metadata.name} ${String(o.spec?.egress?.length)}`,
        ),
      ).toEqual(["k8s.ovn.org/v1 payments/default 8"]);
    });

    it.each(CASES.map((c) => [c.name, c] as const))("%s", async (_name, c) => {
      const real: ProbeResult = await probe(state, probeOf(c.target));
      expect(real.verdict.kind, c.name).toBe(c.real);
      const report = await trace(live, c, real.injected.srcPort);
      const v = report.forward.verdict;
      tally.total++;
      expect(agree(v, real), c.name).toBeUndefined();
      tally.agree++;
      if (c.rule === undefined) {
        expect(namesFirewall(v), `${c.name}: ${JSON.stringify(v)}`).toBe(false);
        expect(decidedBy(v)).toBe("");
      } else {
        expect(namesFirewall(v), `${c.name}: ${JSON.stringify(v)}`).toBe(true);
        expect(decidedBy(v)).toContain(`rule ${String(c.rule)} of EgressFirewall payments/default`);
      }
      liveSummaries.set(c.name, { summary: summaryOf(report), srcPort: real.injected.srcPort });
    });

    it("from a snapshot of the lab, and from one without its Kubernetes objects: the same verdicts and rules", async () => {
      await waitForMacLearning(state);
      const [snap, bare] = await labSnapshots(live, state.dir);
      for (const dir of [snap, bare]) {
        const offline = await SnapshotBackend.open(dir);
        try {
          // the EgressFirewall object: from kubernetes.json as the lab's API serves it (collected as a custom
          // resource), or derived from the ACLs: the rules the scenario declares either way
          const efs = (await offline.listCustomObjects({
            group: "k8s.ovn.org",
            version: "v1",
            plural: "egressfirewalls",
            kind: "EgressFirewall",
            namespaced: true,
          })) as {
            metadata?: { namespace?: string; name?: string };
            spec?: { egress?: EgressFirewallRule[] };
          }[];
          expect(
            efs.map((o) => `${o.metadata?.namespace ?? ""}/${o.metadata?.name ?? ""}`),
            dir,
          ).toEqual(["payments/default"]);
          expect(efs[0]?.spec?.egress?.map(ruleText), dir).toEqual(
            state.cluster.egressFirewalls[0]?.egress.map(ruleText),
          );
          for (const c of CASES) {
            const live = liveSummaries.get(c.name);
            expect(live, c.name).toBeDefined();
            if (live === undefined) continue;
            expect(summaryOf(await trace(offline, c, live.srcPort)), `${dir}: ${c.name}`).toBe(live.summary);
          }
        } finally {
          await offline.close();
        }
      }
    });
  },
);

afterAll(() => {
  process.stdout.write(
    `fidelity (EgressFirewall): ${String(tally.agree)} of ${String(tally.total)} traced verdicts agree with real packets\n`,
  );
});
