import { describe, it } from "vitest";
import { renderGoText } from "../../src/render/go-text.js";
import { resolutionText } from "../../src/render/resolution-text.js";
import { expectGolden } from "../golden/golden.js";
import { recordedCase, recordedCaseNames, resolutionOf } from "../golden/recorded.js";

describe.each(recordedCaseNames())("text renderers on the recorded %s", (name) => {
  const c = recordedCase(name);
  // level 4 prints every tool output and command line: one case of each shape keeps the files small
  const levels = name.endsWith("policy-drop-tcp80") ? [0, 1, 4] : [0, 1];
  it.each(levels)("the Go tool's lines at -loglevel %i", (loglevel) => {
    expectGolden(
      `${name}.loglevel-${String(loglevel)}.txt`,
      `${renderGoText(c.reports, { loglevel, color: false })}\n`,
    );
  });
  it("the resolution (-loglevel 5)", () => {
    expectGolden(`${name}.resolution.txt`, `${resolutionText(resolutionOf(c))}\n`);
  });
});
