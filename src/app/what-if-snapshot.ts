import { readFileSync } from "node:fs";
import { parse } from "yaml";
import { objectsOf } from "../backends/snapshot/backend.js";
import {
  applyPolicy,
  checkEvaluable,
  snapshotPolicies,
  wiredPorts,
  type SnapshotPolicies,
} from "../backends/snapshot/what-if-policy.js";
import { WhatIfReplica } from "../backends/snapshot/what-if-replica.js";
import type { ClusterBackend } from "../cluster/backend.js";
import { parseNamespaces } from "../engine/matrix-select.js";
import { InputError } from "../errors.js";
import type { PolicyCluster } from "../lab/network-policy.js";
import type { NetworkPolicySpec } from "../lab/scenario.js";
import { policyManifest, withPolicy } from "../lab/what-if.js";
import { readOvsdbFile } from "../ovsdb/file.js";
import { readSnapshot } from "../snapshot/read.js";
import type { CommandIO } from "./command.js";
import {
  runWhatIf,
  whatIfRequest,
  type WhatIfCommand,
  type WhatIfResult,
  type WhatIfTarget,
} from "./what-if.js";

/**
 * `what-if --snapshot`: the change tried on a what-if replica of a snapshot (copies of its zones' NB and SB, this
 * machine's ovn-northd), which is how a live cluster gets a what-if: collect a snapshot, then try the change on it.
 */

const LOGICAL_ONLY =
  "verdicts are ovn-trace's on the SBs ovn-northd computed from the snapshot's NBs before and after the change (logical); OpenFlow is not recomputed in a replica";

/** The snapshot's objects with `np` as kubectl apply would leave them (replacing a policy of that name). */
function withPolicyObject(objects: readonly unknown[], np: NetworkPolicySpec): unknown[] {
  const isIt = (o: unknown): boolean => {
    const x = o as { kind?: string; metadata?: { namespace?: string; name?: string } };
    return (
      x.kind === "NetworkPolicy" && x.metadata?.namespace === np.namespace && x.metadata.name === np.name
    );
  };
  return [...objects.filter((o) => !isIt(o)), parse(policyManifest(np)) as unknown];
}

/** A snapshot's what-if replica as a what-if target: each change written into its NBs, the objects updated. */
class SnapshotTarget implements WhatIfTarget {
  readonly where = "the snapshot's what-if replica";
  constructor(
    private readonly replica: WhatIfReplica,
    private objects: readonly unknown[],
    private policies: SnapshotPolicies,
    private readonly io: CommandIO,
  ) {}

  get cluster(): PolicyCluster {
    return this.policies.cluster;
  }

  cannotPropose(namespace: string): string | undefined {
    if (this.policies.derived)
      return "a proposal needs the pods' labels and the policies' rules, and the snapshot has none (no kubernetes.json: its objects were derived from the OVN databases); collect it with its Kubernetes objects (snapshot collect --cluster, or --k8s DIR)";
    const unreadable = [...this.policies.unreadable].filter(([k]) => k.startsWith(`${namespace}/`));
    return unreadable.length === 0
      ? undefined
      : `what-if cannot read every policy of namespace ${namespace}: ${unreadable.map(([k, why]) => `${k}: ${why}`).join("; ")}`;
  }

  backend(what: string): ClusterBackend {
    return this.replica.backend(this.objects, what);
  }

  async apply(np: NetworkPolicySpec): Promise<void> {
    checkEvaluable(this.policies, np);
    this.io.progress(
      `what-if: writing ${np.namespace}/${np.name} into the replica; ovn-northd computing each SB`,
    );
    await applyPolicy(this.replica, this.policies, np, this.objects);
    this.objects = withPolicyObject(this.objects, np);
    this.policies = {
      ...this.policies,
      cluster: {
        ...this.policies.cluster,
        networkPolicies: withPolicy(this.policies.cluster.networkPolicies, np),
      },
    };
  }
}

export async function whatIfOnSnapshot(c: WhatIfCommand, dir: string, io: CommandIO): Promise<WhatIfResult> {
  if (c.keep) throw new InputError("--keep is for the lab: a what-if never changes a snapshot");
  const request = whatIfRequest(c);
  const asked = parseNamespaces(c.namespaces, "--namespaces");
  const snap = readSnapshot(dir);
  const objects = await objectsOf(snap);
  io.progress("what-if: a replica of the snapshot's databases; ovn-northd computing each SB");
  const replica = await WhatIfReplica.start(snap);
  try {
    const wired = wiredPorts(replica.zones.map((z) => readOvsdbFile(readFileSync(z.nbFile))));
    const policies = snapshotPolicies(objects, wired);
    if (request.given !== undefined) checkEvaluable(policies, request.given);
    const t = new SnapshotTarget(replica, objects, policies, io);
    const outcome = await runWhatIf(t, request, asked, io, c.parallel);
    return {
      kind: "WhatIf",
      source: "snapshot",
      snapshot: dir,
      ...outcome,
      kept: false,
      notes: [LOGICAL_ONLY],
    };
  } finally {
    await replica.close();
  }
}
