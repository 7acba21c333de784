import type { KubeObjectRef } from "./report.js";

/** An explained trace (`ovnkube-trace explain`): every number of a pasted trace named, and its summary. */

/** One value of a trace with what it stands for. */
export interface DecodedValue {
  /** The field as the trace names it (`metadata`, `reg15`, `in_port`, `output`, `tun_metadata0`, `cookie`...). */
  readonly field: string;
  /** The value as printed (`0x3`, `4`, `10.244.2.4:8080`). */
  readonly raw: string;
  /** What it is ("logical switch ovn-worker (pod switch of node ovn-worker)"), or "unknown (why)". */
  readonly meaning: string;
  readonly known: boolean;
  /** The Kubernetes objects it stands for, when ovn-kubernetes' names or external_ids say. */
  readonly objects?: readonly KubeObjectRef[];
}

export interface DecodedLine {
  /** 0-based index of the input line the values belong to. */
  readonly index: number;
  readonly values: readonly DecodedValue[];
}

export interface TunnelCrossing {
  readonly vni: number;
  readonly vniHex: string;
  /** The tunnel key's datapath (the VNI). */
  readonly datapath: DecodedValue;
  readonly remoteIp?: string;
  readonly remoteNode?: string;
  /** Both logical ports of OVN's Geneve option, when the trace shows it. */
  readonly ports?: DecodedValue;
}

export type ExplainVerdictKind = "delivered" | "tunnel" | "left-cluster" | "dropped" | "rejected" | "unknown";

export interface ExplainVerdict {
  readonly kind: ExplainVerdictKind;
  /** One sentence: where and why, in Kubernetes terms when the databases say. */
  readonly text: string;
  readonly objects: readonly KubeObjectRef[];
}

export interface ExplainSummary {
  readonly inPort?: DecodedValue;
  readonly outPort?: DecodedValue;
  /** Logical datapaths the packet went through, in order. */
  readonly datapaths: readonly DecodedValue[];
  readonly tunnels: readonly TunnelCrossing[];
  /** The load balancer backend the packet was DNATed to (with its Service and pod). */
  readonly backend?: DecodedValue;
  /** The source NAT address (a node's IP, an EgressIP). */
  readonly snat?: DecodedValue;
  readonly verdict: ExplainVerdict;
}

export interface ExplainedTrace {
  readonly tool: "ofproto/trace" | "ovn-trace";
  readonly summary: ExplainSummary;
  readonly lines: readonly DecodedLine[];
}
