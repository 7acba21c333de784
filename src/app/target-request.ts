import type { ExternalSource, TraceTarget } from "../model/target.js";

/** A pod or service as the flags name it: its namespace only when one was given (`ns/name`, `-n`, ...). */
export interface NamedRef {
  readonly namespace?: string;
  readonly name: string;
}

/** A client outside the cluster (it has no namespace or name: reading them gives undefined, as for a bare name). */
export interface ExternalRef extends ExternalSource {
  readonly namespace?: undefined;
  readonly name?: undefined;
}

/**
 * The packet the flags ask about, before the cluster is known: a name without a namespace takes the
 * default namespace of the cluster (the kubeconfig context's, else "default"), as kubectl does.
 */
export interface TargetRequest extends Omit<TraceTarget, "src" | "dst"> {
  /** A pod, or a client outside the cluster (-src-ip, -src-node). */
  readonly src: NamedRef | ExternalRef;
  readonly dst:
    ({ readonly kind: "pod" | "service" } & NamedRef) | { readonly kind: "ip"; readonly ip: string };
}

/** The target with every missing namespace set to `defaultNamespace`. */
export function completeTarget(r: TargetRequest, defaultNamespace: string): TraceTarget {
  const d = r.dst;
  return {
    ...r,
    src:
      "kind" in r.src
        ? { kind: "external", ip: r.src.ip, node: r.src.node }
        : { namespace: r.src.namespace ?? defaultNamespace, name: r.src.name },
    dst: d.kind === "ip" ? d : { kind: d.kind, namespace: d.namespace ?? defaultNamespace, name: d.name },
  };
}
