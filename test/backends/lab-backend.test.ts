import { afterAll, beforeAll, describe } from "vitest";
import { LabBackend } from "../../src/backends/lab/backend.js";
import { EXAMPLES_DIR } from "../../src/lab/defaults.js";
import { labDown, labUp } from "../../src/lab/lab.js";
import { loadScenarioFile } from "../../src/lab/load-scenario.js";
import { newLabDir } from "../helpers/lab.js";
import { backendContract } from "../cluster/contract.js";

describe.each(["central", "interconnect"] as const)("lab backend (%s)", (shape) => {
  let backend: LabBackend;
  beforeAll(async () => {
    const { state } = await labUp(loadScenarioFile(`${EXAMPLES_DIR}kind.yaml`, shape), newLabDir());
    backend = LabBackend.open(state.dir);
  });
  afterAll(async () => {
    await labDown(backend.state.dir);
  });
  backendContract(() => backend);
});
