const MGMT_LINK_PREFIX = "ovn-k8s-mp";
const LINUX_IFNAME_MAX = 15;

/** The host management link of a network: ovn-k8s-mp<id>, cut to 15 characters as ovn-kubernetes does. */
export function mgmtLinkName(networkId: number): string {
  return `${MGMT_LINK_PREFIX}${networkId}`.slice(0, LINUX_IFNAME_MAX);
}
