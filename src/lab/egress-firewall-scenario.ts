/**
 * EgressFirewall (k8s.ovn.org/v1) as a scenario declares it: the object's spec, one per namespace (ovn-kubernetes
 * only acts on the one named "default"), and what each DNS name resolves to (what ovnkube-controller's resolver
 * would put into the name's address set).
 */

/** A CIDR, or a DNS name (an address set per family, filled with what it resolves to). */
export type EgressFirewallDestination = { readonly cidrSelector: string } | { readonly dnsName: string };

export interface EgressFirewallPort {
  readonly protocol: "TCP" | "UDP" | "SCTP";
  /** 1-65535; none: every port of the protocol. */
  readonly port?: number;
}

export interface EgressFirewallRule {
  readonly type: "Allow" | "Deny";
  readonly to: EgressFirewallDestination;
  /** None: every protocol and port. */
  readonly ports?: readonly EgressFirewallPort[];
}

export interface EgressFirewallSpec {
  readonly namespace: string;
  /** Applied in order: the first rule that matches decides; no match allows. */
  readonly egress: readonly EgressFirewallRule[];
}

/** The addresses a DNS name of an EgressFirewall rule resolves to (any family; none: unresolved). */
export interface DnsRecordSpec {
  readonly name: string;
  readonly addresses: readonly string[];
}
