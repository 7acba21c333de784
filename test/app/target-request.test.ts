import { describe, expect, it } from "vitest";
import { completeTarget } from "../../src/app/target-request.js";

describe("completeTarget", () => {
  it("puts names without a namespace in the cluster's default namespace, and leaves the others", () => {
    expect(
      completeTarget(
        { src: { name: "client" }, dst: { kind: "service", name: "kube-dns" }, protocol: "udp", dstPort: 53 },
        "kube-system",
      ),
    ).toEqual({
      src: { namespace: "kube-system", name: "client" },
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
      protocol: "udp",
      dstPort: 53,
    });
    expect(
      completeTarget(
        {
          src: { namespace: "default", name: "client" },
          dst: { kind: "pod", namespace: "web-ns", name: "web" },
          protocol: "tcp",
          dstPort: 80,
          family: 6,
        },
        "kube-system",
      ),
    ).toEqual({
      src: { namespace: "default", name: "client" },
      dst: { kind: "pod", namespace: "web-ns", name: "web" },
      protocol: "tcp",
      dstPort: 80,
      family: 6,
    });
    expect(
      completeTarget(
        { src: { name: "c" }, dst: { kind: "ip", ip: "fd00::1" }, protocol: "icmp", dstPort: 1 },
        "x",
      ).dst,
    ).toEqual({ kind: "ip", ip: "fd00::1" });
  });
});
