import type { Family, L4Protocol } from "./report.js";

/** What the user asked for, in the Go tool's terms. */
export interface TraceTarget {
  readonly src: { readonly namespace: string; readonly name: string };
  readonly dst:
    | { readonly kind: "pod"; readonly namespace: string; readonly name: string }
    | { readonly kind: "service"; readonly namespace: string; readonly name: string }
    | { readonly kind: "ip"; readonly ip: string };
  readonly protocol: L4Protocol;
  readonly dstPort: number;
  readonly family?: Family;
}

/** The target resolved through the cluster's objects: pods, the service and its backends, the nodes. */
export interface ResolvedPod {
  readonly kind: "pod";
  readonly namespace: string;
  readonly name: string;
  readonly node: string;
  readonly ip: string;
  readonly mac: string;
  readonly hostNetwork: boolean;
  /** Logical switch port: <ns>_<pod>, or k8s-<node> (the management port) for a host-network pod. */
  readonly lsp: string;
}

export interface ResolvedService {
  readonly kind: "service";
  readonly namespace: string;
  readonly name: string;
  readonly ip: string;
  readonly port: number;
  readonly targetPort: number;
  /** Endpoints of the requested family that are pods (host-network endpoints are skipped, as the Go tool does). */
  readonly backends: readonly ResolvedPod[];
}

export interface ResolvedNode {
  readonly name: string;
  /** ovn-kubernetes zone (one per node on interconnect clusters, "global" on central ones). */
  readonly zone: string;
  readonly chassisId?: string;
  readonly gatewayMode: "shared" | "local";
  readonly subnets: readonly string[];
  /** MAC of rtos-<node>, the pods' default gateway, for each family's subnet. */
  readonly gatewayMac: string;
  /** MAC of rtots-<node> (interconnect only). */
  readonly transitMac?: string;
}

export interface Resolution {
  readonly family: Family;
  readonly protocol: L4Protocol;
  readonly dstPort: number;
  readonly src: ResolvedPod;
  readonly dst: ResolvedPod | ResolvedService | { readonly kind: "external"; readonly ip: string };
  readonly nodes: ReadonlyMap<string, ResolvedNode>;
  readonly interconnect: boolean;
}
