import { readFileSync } from "node:fs";
import { runOnNode, type LabState } from "../../src/lab/lab.js";
import { labLayout } from "../../src/lab/layout.js";
import {
  startTestApiServer,
  type ExecRequest,
  type TestApiServer,
  type TestApiServerOptions,
} from "../k8s-api/server.js";

export interface ServeLabOptions extends Partial<TestApiServerOptions> {
  /** Every exec request the server gets is appended here. */
  readonly recordExecs?: ExecRequest[];
  /** Execs into this node's pods fail as a kubelet does when the container is gone. */
  readonly failNode?: string;
}

/**
 * The lab's objects behind the test API server; each exec runs in the lab node its pod is on.
 * `options` override the server's (a different `exec`, `forbid`, `execDelayMs`, ...).
 */
export async function serveLab(s: LabState, options: ServeLabOptions = {}): Promise<TestApiServer> {
  const { recordExecs, failNode, ...overrides } = options;
  const objects = JSON.parse(readFileSync(labLayout(s.dir).kubernetesFile, "utf8")) as {
    items: Record<string, unknown>[];
  };
  const nodeOf = (ns: string, pod: string): string => {
    const o = objects.items.find(
      (i) =>
        i.kind === "Pod" &&
        (i.metadata as { namespace: string; name: string }).namespace === ns &&
        (i.metadata as { name: string }).name === pod,
    );
    return (o?.spec as { nodeName: string }).nodeName;
  };
  return startTestApiServer({
    objects,
    token: "lab-token",
    exec: async (req) => {
      recordExecs?.push(req);
      const node = nodeOf(req.namespace, req.pod);
      if (node === failNode)
        return { exitCode: 137, stdout: "", stderr: 'container not found ("ovnkube-controller")' };
      const r = await runOnNode(s, node, req.command, 20_000, req.stdin?.toString());
      return { exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr };
    },
    ...overrides,
  });
}
