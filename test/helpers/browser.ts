import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import puppeteer, { type Browser, type Page } from "puppeteer-core";

/**
 * A real browser for the HTML reports: Debian's chromium (scripts/install-deps.sh installs it), headless,
 * driven by puppeteer-core, with a fresh profile of its own. Pages are opened from disk with every request
 * watched: a self-contained page asks for nothing but itself (and data: URLs).
 */

export const CHROMIUM = process.env.OTL_CHROMIUM ?? "/usr/bin/chromium";

export interface TestBrowser {
  readonly browser: Browser;
  /** Closes the browser (killed by its pid if it does not close) and removes its profile. */
  readonly close: () => Promise<void>;
}

export async function launchBrowser(): Promise<TestBrowser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`no ${CHROMIUM}: run scripts/install-deps.sh (Debian's chromium)`);
  const profile = mkdtempSync(join(tmpdir(), "otl-chromium-"));
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: profile,
    // in a container: no sandbox (no user namespaces), no GPU, no /dev/shm of size
    args: ["--no-sandbox", "--headless=new", "--disable-gpu", "--disable-dev-shm-usage", "--no-first-run"],
  });
  const pid = browser.process()?.pid;
  return {
    browser,
    close: async () => {
      try {
        await Promise.race([browser.close(), new Promise((_, reject) => setTimeout(reject, 10_000))]);
      } catch {
        if (pid !== undefined)
          try {
            process.kill(pid, "SIGKILL");
          } catch {
            // already gone
          }
      }
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

export interface OpenedPage {
  readonly page: Page;
  /** Console errors and uncaught exceptions of the page (a Content-Security-Policy violation is one). */
  readonly errors: string[];
  /** Every request that was not the file itself or a data: URL (each was refused). */
  readonly foreign: string[];
  /** From navigation to the load event, in ms. */
  readonly loadMs: number;
}

/** Opens a file in a new tab, in a light or dark colour scheme, refusing (and listing) any other request. */
export async function openFile(
  b: TestBrowser,
  file: string,
  o: { readonly scheme?: "light" | "dark"; readonly width?: number } = {},
): Promise<OpenedPage> {
  const page = await b.browser.newPage();
  const url = pathToFileURL(file).href;
  const errors: string[] = [];
  const foreign: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(m.text());
  });
  page.on("pageerror", (e) => errors.push(e instanceof Error ? e.message : String(e)));
  await page.setRequestInterception(true);
  page.on("request", (r) => {
    const u = r.url();
    if (u === url || u.startsWith("data:")) void r.continue();
    else {
      foreign.push(u);
      void r.abort();
    }
  });
  await page.emulateMediaFeatures([{ name: "prefers-color-scheme", value: o.scheme ?? "light" }]);
  await page.setViewport({ width: o.width ?? 1280, height: 900 });
  const t0 = performance.now();
  await page.goto(url, { waitUntil: "load" });
  return { page, errors, foreign, loadMs: performance.now() - t0 };
}
