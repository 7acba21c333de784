import { expect } from "vitest";
import { InputError } from "../../src/errors.js";
import { resolveScenario } from "../../src/lab/cluster.js";
import { parseScenario } from "../../src/lab/load-scenario.js";

/** The one-line error a scenario is refused with (an InputError); fails the test when it is accepted. */
export function scenarioProblems(yaml: string, file = "t.yaml"): string {
  try {
    resolveScenario(parseScenario(yaml, file));
  } catch (e) {
    expect(e).toBeInstanceOf(InputError);
    return (e as Error).message;
  }
  throw new Error("scenario was accepted");
}
