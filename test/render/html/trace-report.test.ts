import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { LabBackend } from "../../../src/backends/lab/backend.js";
import { resolveTarget } from "../../../src/engine/resolve.js";
import { runTraces } from "../../../src/engine/trace.js";
import { EXAMPLES_DIR } from "../../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../../src/lab/lab.js";
import { loadScenarioFile } from "../../../src/lab/load-scenario.js";
import type { TraceReport } from "../../../src/model/report.js";
import { traceRunDocument } from "../../../src/render/document.js";
import { renderTraceRunHtml } from "../../../src/render/html/trace-report.js";
import { arrivalText, verdictSentence } from "../../../src/render/verdict-text.js";
import { launchBrowser, openFile, type OpenedPage, type TestBrowser } from "../../helpers/browser.js";
import { newLabDir } from "../../helpers/lab.js";
import { recordedCase, recordedCaseNames } from "../../golden/recorded.js";

/**
 * The HTML report of real runs, opened in a real browser (Debian's chromium, headless, through
 * puppeteer-core): the verdicts in the words of the text output, the path's steps in order on the picture
 * (top to bottom), the drop marked and named, NATs and tunnels on the edges, no console error, nothing
 * fetched. The runs: the recorded lab runs (test/fixtures/engine), and an IPv6 one traced here on the
 * dual-stack lab. Each page's screenshot is left in this run's temp dir (not compared).
 */

const SHOTS = mkdtempSync(join(tmpdir(), "otl-html-report-"));

let browser: TestBrowser;
let lab: LabState | undefined;
let ipv6: TraceReport[] = [];

beforeAll(async () => {
  browser = await launchBrowser();
  // no recorded run is IPv6: trace one on the dual-stack lab
  lab = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind-dualstack.yaml`, "interconnect"), newLabDir()))
    .state;
  const b = new LabBackend(lab);
  const resolution = await resolveTarget(b, {
    src: { namespace: "default", name: "client" },
    dst: { kind: "pod", namespace: "default", name: "web" },
    protocol: "tcp",
    dstPort: 8080,
    family: 6,
  });
  ipv6 = await runTraces(b, resolution, {});
}, 240_000);

afterAll(async () => {
  await browser.close();
  if (lab !== undefined) await labDown(lab.dir);
});

interface Rendered {
  readonly opened: OpenedPage;
  readonly html: string;
  readonly file: string;
}

async function render(name: string, reports: readonly TraceReport[]): Promise<Rendered> {
  const html = await renderTraceRunHtml(traceRunDocument(reports, true));
  const file = join(SHOTS, `${name}.html`);
  writeFileSync(file, html);
  const opened = await openFile(browser, file);
  await opened.page.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
  return { opened, html, file };
}

/** What the page shows of each direction's verdict, in order. */
const verdicts = (o: OpenedPage): Promise<{ text: string; arrival: string | null; cls: string }[]> =>
  o.page.$$eval("ul.verdicts > li", (lis) =>
    lis.map((li) => ({
      text: li.querySelector(".verdict-text")?.textContent ?? "",
      arrival: li.querySelector(".arrival-text")?.textContent ?? null,
      cls: li.className,
    })),
  );

interface DrawnStep {
  readonly title: string;
  readonly kind: string;
  readonly y: number;
  readonly text: string;
}

/** The steps of each direction's picture, in the order of their sequence numbers, with where they are drawn. */
const drawn = (o: OpenedPage): Promise<DrawnStep[][]> =>
  o.page.$$eval("figure.direction-path svg.path", (svgs) =>
    svgs.map((svg) =>
      [...svg.querySelectorAll<SVGGraphicsElement>("[data-seq]")]
        .sort((a, b) => Number(a.dataset.seq) - Number(b.dataset.seq))
        .map((el) => ({
          title: el.dataset.title ?? "",
          kind: el.dataset.kind ?? "",
          y: el.getBoundingClientRect().top,
          text: [...el.querySelectorAll("text")].map((t) => t.textContent).join(" "),
        })),
    ),
  );

async function commonChecks(r: Rendered, reports: readonly TraceReport[]): Promise<DrawnStep[][]> {
  const { opened } = r;
  expect(opened.errors).toEqual([]);
  expect(opened.foreign).toEqual([]);
  // the verdict sentences and arrival addresses of the text output, each direction of each report in order
  const want = reports.flatMap((x) =>
    [x.forward, ...(x.reply === undefined ? [] : [x.reply])].map((d) => {
      const a = d.summary?.arrival;
      return { text: verdictSentence(d.verdict).text, arrival: a === undefined ? null : arrivalText(a) };
    }),
  );
  const shown = await verdicts(opened);
  expect(shown.map(({ text, arrival }) => ({ text, arrival }))).toEqual(want);
  // the picture's steps go down the page in order
  const pictures = await drawn(opened);
  expect(pictures.length).toBe(want.length);
  for (const steps of pictures) {
    expect(steps.length).toBeGreaterThan(2);
    for (let i = 1; i < steps.length; i++) expect(steps[i]?.y ?? 0).toBeGreaterThan(steps[i - 1]?.y ?? 0);
  }
  // every detail is closed at first, every summary reachable by keyboard
  expect(await opened.page.$$eval("main details[open]", (d) => d.length)).toBe(0);
  expect(
    await opened.page.$$eval("main details > summary", (s) =>
      s.every((x) => x instanceof HTMLElement && x.tabIndex >= 0),
    ),
  ).toBe(true);
  return pictures;
}

const titles = (steps: readonly DrawnStep[] | undefined): string[] => (steps ?? []).map((s) => s.title);

const crossNode = (src: string, dst: string, srcNode: string, dstNode: string): string[] => [
  `pod default/${src}`,
  srcNode,
  "ovn_cluster_router",
  "transit_switch",
  "transit_switch",
  "ovn_cluster_router",
  dstNode,
  `pod default/${dst}`,
];

describe("the HTML report in a browser", () => {
  it("delivered across nodes (interconnect): the path in order, the tunnel's VNI, keyboard to a node's section", async () => {
    const c = recordedCase("interconnect-pod-to-pod-tcp8080");
    const r = await render(c.name, c.reports);
    const [fwd, rep] = await commonChecks(r, c.reports);
    expect(titles(fwd)).toEqual(crossNode("client", "web", "ovn-worker", "ovn-worker2"));
    expect(titles(rep)).toEqual(crossNode("web", "client", "ovn-worker2", "ovn-worker"));
    const page = r.opened.page;
    expect(await page.$$eval(".el-dropped", (e) => e.length)).toBe(0);
    expect(
      await page.$eval("figure.direction-path", (f) => f.querySelector(".edge-label")?.textContent),
    ).toMatch(/VNI 0xff0003\s*\(16711683\)/);
    // Tab reaches the picture's first step; Enter goes to (and opens) that node's section
    let focused = "";
    for (let i = 0; i < 12 && !focused.startsWith("a.el"); i++) {
      await page.keyboard.press("Tab");
      focused = await page.evaluate(() => {
        const a = document.activeElement;
        return a === null ? "" : `${a.tagName.toLowerCase()}.${a.getAttribute("class") ?? ""}`;
      });
    }
    expect(focused).toMatch(/^a\.el /);
    await page.keyboard.press("Enter");
    await page.waitForFunction(() => location.hash === "#r0-fwd-node-ovn-worker");
    expect(await page.$eval("#r0-fwd-node-ovn-worker h4", (h) => h.textContent)).toBe("node ovn-worker");
    // expand all: the OpenFlow hop's steps that mattered and the logical stages
    await page.click("button[data-details=open]");
    const section = await page.$eval("#r0-fwd-node-ovn-worker", (s) => s.textContent);
    expect(section).toMatch(/Steps that mattered/);
    expect(section).toMatch(/ct\(table=15,zone=NXM_NX_REG13\[0\.\.15\],nat\)/);
    expect(section).toMatch(/ls_in_acl/);
    expect(section).toMatch(/ovs-appctl ofproto\/trace br-int/);
  });

  it("a NetworkPolicy drop: the marker on the destination node, saying dropped and naming the policy", async () => {
    for (const name of ["central-policy-drop-tcp80", "interconnect-policy-drop-tcp80"]) {
      const c = recordedCase(name);
      const r = await render(c.name, c.reports);
      const [fwd] = await commonChecks(r, c.reports);
      const drop = fwd?.at(-1);
      expect(drop?.kind).toBe("dropped");
      expect(drop?.text).toMatch(/^✕ dropped /);
      expect(drop?.text.replace(/\s+/g, " ")).toMatch(/NetworkPolicy default\/allow-8080/);
      expect(titles(fwd?.slice(-3, -1))).toEqual(
        name.startsWith("central") ? ["ovn-worker2", "ovn-worker2"] : ["ovn_cluster_router", "ovn-worker2"],
      );
      // drawn inside the box of node ovn-worker2
      const inside = await r.opened.page.evaluate(() => {
        const svg = document.querySelector("figure.direction-path svg.path");
        const box = svg?.querySelector('.k8s-node[data-node="ovn-worker2"] rect')?.getBoundingClientRect();
        const mark = svg?.querySelector(".el-dropped rect")?.getBoundingClientRect();
        if (box === undefined || mark === undefined) return false;
        return (
          mark.top >= box.top && mark.bottom <= box.bottom && mark.left >= box.left && mark.right <= box.right
        );
      });
      expect(inside).toBe(true);
      expect(await r.opened.page.$eval("ul.verdicts > li", (li) => li.className)).toBe("v-dropped");
      // the step that dropped, marked in the OpenFlow table of the destination node
      expect(
        await r.opened.page.$eval(
          "#r0-fwd-node-ovn-worker2",
          (s) => s.querySelector("tr.drop-step")?.textContent,
        ),
      ).toMatch(/dropped here/);
    }
  });

  it("a service with a backend chosen: the DNAT on the edge, one report per backend", async () => {
    const c = recordedCase("interconnect-service-udp53");
    const r = await render(c.name, c.reports);
    const pictures = await commonChecks(r, c.reports);
    expect(pictures).toHaveLength(4);
    expect(titles(pictures[0]).at(-1)).toBe("pod kube-system/coredns-5d78c9869d-x7k2p");
    expect(titles(pictures[2]).at(-1)).toBe("pod kube-system/coredns-5d78c9869d-qm4zt");
    const nats = await r.opened.page.$$eval("ol.path-text .nat", (n) => n.map((x) => x.textContent));
    expect(nats).toContain("→ DNAT 10.96.0.10:53 → 10.244.0.3:53 (Service kube-system/kube-dns)");
    expect(nats).toContain("→ DNAT 10.96.0.10:53 → 10.244.2.3:53 (Service kube-system/kube-dns)");
    expect(await r.opened.page.$$eval("h2", (h) => h.map((x) => x.textContent))).toEqual([
      "report 1 of 2: pod default/client → Service kube-system/kube-dns, backend pod kube-system/coredns-5d78c9869d-x7k2p",
      "report 2 of 2: pod default/client → Service kube-system/kube-dns, backend pod kube-system/coredns-5d78c9869d-qm4zt",
    ]);
  });

  it("to an external address: the gateway router's SNAT, the exit and the address outside", async () => {
    const c = recordedCase("central-external-udp443");
    const r = await render(c.name, c.reports);
    const [fwd] = await commonChecks(r, c.reports);
    expect(titles(fwd)).toEqual([
      "pod default/client",
      "ovn-worker",
      "ovn_cluster_router",
      "join",
      "GR_ovn-worker",
      "ext_ovn-worker",
      "exit eth0",
      "external 198.51.100.7",
    ]);
    expect(await r.opened.page.$$eval("ol.path-text .nat", (n) => n.map((x) => x.textContent))).toEqual([
      "→ SNAT 10.244.1.3:52888 → 172.18.0.3:52888 (the IP of node ovn-worker: SNAT by its gateway router GR_ovn-worker)",
    ]);
  });

  it("IPv6 (traced on the dual-stack lab), in the dark colour scheme", async () => {
    expect(ipv6).toHaveLength(1);
    expect(ipv6[0]?.forward.packet.family).toBe(6);
    const r = await render("ipv6-pod-to-pod-tcp8080", ipv6);
    const [fwd, rep] = await commonChecks(r, ipv6);
    expect(titles(fwd)).toEqual(crossNode("client", "web", "ovn-worker", "ovn-worker2"));
    expect(titles(rep)).toEqual(crossNode("web", "client", "ovn-worker2", "ovn-worker"));
    const shown = await verdicts(r.opened);
    expect(shown[0]?.arrival).toBe("[fd00:10:244:1::3]:52888 → [fd00:10:244:2::4]:8080");
    // with ovn-detrace: its annotations beside the OpenFlow steps
    await r.opened.page.click("button[data-details=open]");
    expect(await r.opened.page.$eval("#r0-fwd-node-ovn-worker2", (s) => s.textContent)).toMatch(
      /Logical datapath/,
    );
    const dark = await openFile(browser, r.file, { scheme: "dark" });
    expect(dark.errors).toEqual([]);
    const bg = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
    expect(bg).toBe("rgb(13, 17, 23)");
    await dark.page.screenshot({ path: join(SHOTS, "ipv6-pod-to-pod-tcp8080.dark.png") });
  });

  it("every recorded run renders without an error or a request, its verdicts as the text says", async () => {
    for (const name of recordedCaseNames()) {
      const c = recordedCase(name);
      await commonChecks(await render(c.name, c.reports), c.reports);
    }
  });
});
