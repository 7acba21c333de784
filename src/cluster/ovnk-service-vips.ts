import type { Family } from "../model/report.js";

/**
 * ovnkube-node's masquerade VIP (config.Gateway.MasqueradeIPs.V4/V6HostETPLocalMasqueradeIP) that a node's own
 * traffic reaches an externalTrafficPolicy=Local NodePort through: ovnkube-controller puts it, with the nodePort,
 * on the node switch's load balancer of every such Service, with the node's own endpoints as backends.
 */
export const ETP_LOCAL_MASQUERADE_IP: Readonly<Record<Family, string>> = { 4: "169.254.169.3", 6: "fd69::3" };
