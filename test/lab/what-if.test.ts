import { describe, expect, it } from "vitest";
import { InputError } from "../../src/errors.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { findPod } from "../../src/lab/probe.js";
import {
  distinguishingLabels,
  parsePolicyManifest,
  policyManifest,
  proposeAllow,
  withPolicy,
} from "../../src/lab/what-if.js";

const c = loadScenarioFile(`${EXAMPLES_DIR}matrix.yaml`, "central");
const pod = (ns: string, name: string) => findPod(c, ns, name);

describe("what-if proposals (pure)", () => {
  it("a pod's distinguishing labels are the fewest that select the fewest pods", () => {
    expect(distinguishingLabels(c, pod("shop", "frontend-7c9d-a1"))).toEqual({ app: "frontend" });
    expect(distinguishingLabels(c, pod("data", "postgres-0"))).toEqual({ role: "primary" });
  });

  it("an ingress rule on the receiver's most specific isolating policy, with the sender's namespace", () => {
    const p = proposeAllow(
      c,
      pod("shop", "debug"),
      pod("shop", "cart-5f6d-a1"),
      { protocol: "tcp", port: 8080 },
      "ingress",
    );
    expect(p.changes).toBe("shop/cart-from-frontend");
    expect(p.policy.ingress?.at(-1)).toEqual({
      from: [{ podSelector: { matchLabels: { app: "debug" } } }],
      ports: [{ protocol: "TCP", port: 8080 }],
    });
    const x = proposeAllow(
      c,
      pod("data", "etl-5c1b"),
      pod("shop", "debug"),
      { protocol: "icmp", port: 0 },
      "egress",
    );
    expect(x.changes).toBe("data/etl-egress");
    expect(x.policy.egress?.at(-1)).toEqual({
      to: [
        {
          podSelector: { matchLabels: { app: "debug" } },
          namespaceSelector: { matchLabels: { "kubernetes.io/metadata.name": "shop" } },
        },
      ],
    });
    expect(x.notes.join()).toMatch(/ICMP/);
  });

  it("a manifest round-trips; kubectl apply replaces a policy of the same name", () => {
    const p = proposeAllow(
      c,
      pod("shop", "debug"),
      pod("api", "users-9d7c-a1"),
      { protocol: "udp", port: 53 },
      "ingress",
    );
    const back = parsePolicyManifest(policyManifest(p.policy), "x.yaml");
    expect(back).toEqual({ ...p.policy, policyTypes: ["Ingress"] });
    const all = withPolicy(c.networkPolicies, back);
    expect(all).toHaveLength(c.networkPolicies.length);
    expect(all.find((x) => x.name === "users-from-gateway")?.ingress).toHaveLength(2);
  });

  it("refuses what the lab cannot write", () => {
    const bad =
      (spec: string): unknown =>
      () =>
        parsePolicyManifest(`kind: NetworkPolicy\nmetadata: {name: x}\nspec: ${spec}\n`, "x.yaml");
    expect(bad("{podSelector: {matchExpressions: [{key: a, operator: Exists}]}}")).toThrow(InputError);
    expect(bad("{podSelector: {}, ingress: [{ports: [{port: http}]}]}")).toThrow(/port numbers/);
    expect(() => parsePolicyManifest("kind: Pod\n", "x.yaml")).toThrow(/not a NetworkPolicy/);
    expect(
      parsePolicyManifest("kind: NetworkPolicy\nmetadata: {name: x}\nspec: {podSelector: {}}\n", "f")
        .namespace,
    ).toBe("default");
  });
});
