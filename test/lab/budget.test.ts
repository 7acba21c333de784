import { describe, expect, it } from "vitest";
import { checkLabFits, estimateMemoryMib, flowsPerNode, labBudgetMs } from "../../src/lab/budget.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { scaleScenario } from "../../src/lab/scale-scenario.js";

describe("lab budget", () => {
  const central50 = resolveScenario(scaleScenario({ nodes: 50, pods: 2000, services: 500, policies: 300 }));
  const ic50 = resolveScenario(
    scaleScenario({ nodes: 50, pods: 2000, services: 500, policies: 300, shape: "interconnect" }),
  );

  it("a central node holds every node switch's load balancers, an interconnect one its own", () => {
    expect(flowsPerNode(central50)).toBeGreaterThan(10 * flowsPerNode(ic50));
    expect(estimateMemoryMib(central50)).toBeGreaterThan(estimateMemoryMib(ic50));
  });

  it("waits longer for a bigger lab, at least a minute", () => {
    const kind = loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`);
    expect(labBudgetMs(kind)).toBeGreaterThanOrEqual(60_000);
    expect(labBudgetMs(central50)).toBeGreaterThan(labBudgetMs(kind));
  });

  it("refuses a lab that does not fit in the memory available, saying what it needs; never a small one", () => {
    expect(() => {
      checkLabFits(central50, 8 * 1024);
    }).toThrow(/needs about \d+\.\d GiB of memory; 8\.0 GiB is available/);
    expect(() => {
      checkLabFits(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`), 100);
    }).not.toThrow();
    expect(() => {
      checkLabFits(ic50, 1024 * 1024);
    }).not.toThrow();
  });
});
