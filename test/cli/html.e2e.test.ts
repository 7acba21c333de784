import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp, type LabState } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import type { TraceRun } from "../../src/model/trace-run.js";
import { verdictSentence } from "../../src/render/verdict-text.js";
import { launchBrowser, openFile, type TestBrowser } from "../helpers/browser.js";
import { cliAsync as cli } from "../helpers/cli.js";
import { newLabDir } from "../helpers/lab.js";

/**
 * `-o html` and `--html FILE`, end to end: the built CLI traces on the lab (`--lab`) and explains a trace, and
 * the page it writes is opened in a real browser (Debian's chromium through puppeteer-core), which shows the
 * verdict the text and JSON outputs state, and fetches nothing.
 */

let lab: LabState;
let browser: TestBrowser;
let dir: string;

beforeAll(async () => {
  dir = newLabDir();
  lab = (await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, "central"), join(dir, "lab"))).state;
  browser = await launchBrowser();
}, 180_000);

afterAll(async () => {
  await browser.close();
  await labDown(lab.dir);
});

const trace = (port: string, ...extra: string[]): string[] => [
  "--lab",
  lab.dir,
  "-src",
  "client",
  "-dst",
  "web",
  "-tcp",
  "-dst-port",
  port,
  ...extra,
];

describe("the HTML report from the CLI", () => {
  it("-o html prints one self-contained page that shows the verdict of -o json", async () => {
    const [page, json] = await Promise.all([
      cli(trace("8080", "-o", "html")),
      cli(trace("8080", "-o", "json", "-skip-detrace")),
    ]);
    expect(page.code, page.stderr).toBe(0);
    expect(page.stderr).toBe("");
    expect(page.stdout.startsWith("<!doctype html>\n")).toBe(true);
    expect(page.stdout.trimEnd().endsWith("</html>")).toBe(true);
    const run = JSON.parse(json.stdout) as TraceRun;
    const file = join(dir, "allowed.html");
    writeFileSync(file, page.stdout);
    const o = await openFile(browser, file);
    expect(o.errors).toEqual([]);
    expect(o.foreign).toEqual([]);
    const r = run.reports[0];
    expect(await o.page.$$eval(".verdict-text", (v) => v.map((x) => x.textContent))).toEqual([
      verdictSentence(r?.forward.verdict ?? { kind: "unknown", reason: "" }).text,
      verdictSentence(r?.reply?.verdict ?? { kind: "unknown", reason: "" }).text,
    ]);
    const fwd = await o.page.$$eval("figure.direction-path:first-of-type [data-seq]", (e) =>
      e.map((x) => (x as SVGElement).dataset.title),
    );
    expect(fwd[0]).toBe("pod default/client");
    expect(fwd.at(-1)).toBe("pod default/web");
    expect(fwd).toContain("ovn_cluster_router");
    await o.page.screenshot({ path: join(dir, "allowed.png"), fullPage: true });
  });

  it("--html FILE writes the page beside the text output, a drop marked in it; exit 1 as always", async () => {
    const file = join(dir, "dropped.html");
    const r = await cli(trace("80", "--html", file));
    expect(r.code).toBe(1);
    expect(r.stdout).toMatch(/^verdict \(source pod to destination pod\): dropped on ovn-worker2 /m);
    expect(r.stderr).toMatch(/^failure: /m);
    expect(existsSync(file)).toBe(true);
    const o = await openFile(browser, file);
    expect(o.errors).toEqual([]);
    expect(o.foreign).toEqual([]);
    const shown = await o.page.$eval("ul.verdicts > li", (li) => ({
      cls: li.className,
      text: li.querySelector(".verdict-text")?.textContent ?? "",
    }));
    expect(shown.cls).toBe("v-dropped");
    expect(r.stdout).toContain(`verdict (source pod to destination pod): ${shown.text}\n`);
    expect(await o.page.$eval(".el-dropped", (e) => e.textContent)).toMatch(/dropped.*allow-8080/s);
    const unwritable = await cli(trace("80", "--html", join(dir, "no", "such", "dir", "x.html")));
    expect(unwritable.code).toBe(2);
    expect(unwritable.stderr).toMatch(/^error: cannot write .*x\.html: ENOENT/);
    const bad = await cli(trace("80", "-o", "xml"));
    expect(bad.code).toBe(2);
    expect(bad.stderr).toBe('error: -o must be text, json, yaml or html, not "xml"\n');
  });

  it("explain -o html: the pasted ofproto/trace explained on a page, the verdict of the text output", async () => {
    const run = JSON.parse((await cli(trace("80", "-o", "json", "--include-raw"))).stdout) as TraceRun;
    const hop = run.reports[0]?.forward.hops.filter((h) => h.tool === "ofproto/trace").at(-1);
    expect(hop?.node).toBe("ovn-worker2");
    const input = join(dir, "of.txt");
    writeFileSync(input, hop?.output ?? "");
    const args = ["explain", input, "--node", "ovn-worker2", "--lab", lab.dir];
    const file = join(dir, "explain.html");
    const [text, page] = await Promise.all([cli([...args, "--html", file]), cli([...args, "-o", "html"])]);
    expect(text.code, text.stderr).toBe(0);
    expect(page.code, page.stderr).toBe(0);
    expect(readFileSync(file, "utf8")).toBe(page.stdout);
    const o = await openFile(browser, file, { scheme: "dark" });
    expect(o.errors).toEqual([]);
    expect(o.foreign).toEqual([]);
    const verdict = await o.page.$eval(".verdict-text", (v) => v.textContent);
    expect(text.stdout).toContain(`  verdict:     ${verdict}\n`);
    expect(verdict).toMatch(/^dropped .*NetworkPolicy default\/allow-8080/);
    expect(await o.page.$$eval("[data-seq]", (e) => e.map((x) => (x as SVGElement).dataset.kind))).toContain(
      "dropped",
    );
    await o.page.click("button[data-details=open]");
    expect(await o.page.$eval("pre.explained", (p) => p.textContent)).toMatch(/Logical datapath/);
  });
});
