import { describe, expect, it } from "vitest";
import { splitRef } from "../../src/cli/argv.js";
import { duration, outputFormat, pageFormat } from "../../src/cli/formats.js";
import { useColor } from "../../src/cli/io.js";
import { packetTarget, type PacketFlags } from "../../src/cli/packet-flags.js";
import { InputError } from "../../src/errors.js";

describe("--timeout durations", () => {
  it.each([
    ["30s", 30_000],
    ["1m", 60_000],
    ["500ms", 500],
    ["1m30s", 90_000],
    ["1.5s", 1500],
    ["1h", 3_600_000],
    ["2000", 2000],
    [" 45s ", 45_000],
  ])("%s is %i ms", (v, ms) => {
    expect(duration(v, "--timeout", 100, 3_600_000)).toBe(ms);
  });

  it.each(["1x", "s", "-1s", "1m-5s", "", "10 s", "1e3"])("rejects %j with the accepted forms named", (v) => {
    expect(() => duration(v, "--timeout", 100, 3_600_000)).toThrow(
      /--timeout must be a duration \(30s, 1m, 500ms; a plain number is milliseconds\)/,
    );
  });

  it("keeps the bounds, in the flag's words", () => {
    expect(() => duration("50ms", "--timeout", 100, 3_600_000)).toThrow(/from 100 ms to 3600 s, not "50ms"/);
    expect(() => duration("2h", "--timeout", 100, 3_600_000)).toThrow(InputError);
  });
});

describe("-o", () => {
  it("takes text, json and yaml, and names them when it refuses", () => {
    expect(outputFormat(undefined)).toBe("text");
    expect(outputFormat(undefined, "json")).toBe("json");
    for (const f of ["text", "json", "yaml"] as const) expect(outputFormat(f)).toBe(f);
    expect(() => outputFormat("xml")).toThrow('-o must be text, json or yaml, not "xml"');
    expect(() => outputFormat("html")).toThrow('-o must be text, json or yaml, not "html"');
  });

  it("of the trace and explain also takes html", () => {
    expect(pageFormat(undefined)).toBe("text");
    for (const f of ["text", "json", "yaml", "html"] as const) expect(pageFormat(f)).toBe(f);
    expect(() => pageFormat("xml")).toThrow('-o must be text, json, yaml or html, not "xml"');
  });
});

describe("namespaces (kubectl's rule)", () => {
  const flags = (f: Partial<PacketFlags>): PacketFlags => ({ dstPort: "80", tcp: true, ...f });

  it("a NAMESPACE/NAME wins, then -src-namespace / -dst-namespace, then -n, else none (the cluster's default)", () => {
    expect(splitRef("a/b", "c")).toEqual({ namespace: "a", name: "b" });
    expect(splitRef("b", "c")).toEqual({ namespace: "c", name: "b" });
    expect(splitRef("b")).toEqual({ name: "b" });
    expect(packetTarget(flags({ src: "client", dst: "web" }))).toMatchObject({
      src: { name: "client" },
      dst: { kind: "pod", name: "web" },
    });
    const none = packetTarget(flags({ src: "client", dst: "web" }));
    expect(none.src.namespace).toBeUndefined();
    expect(none.dst.kind === "pod" ? none.dst.namespace : "?").toBeUndefined();
    expect(
      packetTarget(flags({ src: "client", service: "kube-dns", namespace: "kube-system" })),
    ).toMatchObject({
      src: { namespace: "kube-system", name: "client" },
      dst: { kind: "service", namespace: "kube-system", name: "kube-dns" },
    });
    expect(
      packetTarget(
        flags({ src: "client", service: "kube-dns", namespace: "kube-system", srcNamespace: "default" }),
      ),
    ).toMatchObject({
      src: { namespace: "default" },
      dst: { namespace: "kube-system" },
    });
    expect(
      packetTarget(
        flags({ src: "x/client", dst: "y/web", namespace: "n", srcNamespace: "s", dstNamespace: "d" }),
      ),
    ).toMatchObject({ src: { namespace: "x" }, dst: { namespace: "y" } });
    expect(
      packetTarget(flags({ src: "client", dst: "web", namespace: "n", dstNamespace: "d" })),
    ).toMatchObject({
      src: { namespace: "n" },
      dst: { namespace: "d" },
    });
  });
});

describe("colours", () => {
  it("never with --no-color or a non-empty NO_COLOR; an empty NO_COLOR does not count", () => {
    expect(useColor(false, {})).toBe(false);
    expect(useColor(undefined, { NO_COLOR: "1" })).toBe(false);
    expect(useColor(true, { NO_COLOR: "" })).toBe(process.stdout.isTTY);
  });
});
