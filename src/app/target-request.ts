import type { TraceTarget } from "../model/target.js";

/** A pod or service as the flags name it: its namespace only when one was given (`ns/name`, `-n`, ...). */
export interface NamedRef {
  readonly namespace?: string;
  readonly name: string;
}

/**
 * The packet the flags ask about, before the cluster is known: a name without a namespace takes the
 * default namespace of the cluster (the kubeconfig context's, else "default"), as kubectl does.
 */
export interface TargetRequest extends Omit<TraceTarget, "src" | "dst"> {
  readonly src: NamedRef;
  readonly dst:
    ({ readonly kind: "pod" | "service" } & NamedRef) | { readonly kind: "ip"; readonly ip: string };
}

/** The target with every missing namespace set to `defaultNamespace`. */
export function completeTarget(r: TargetRequest, defaultNamespace: string): TraceTarget {
  const d = r.dst;
  return {
    ...r,
    src: { namespace: r.src.namespace ?? defaultNamespace, name: r.src.name },
    dst: d.kind === "ip" ? d : { kind: d.kind, namespace: d.namespace ?? defaultNamespace, name: d.name },
  };
}
