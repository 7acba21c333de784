import type { ServiceObject } from "../cluster/kube-objects.js";
import type { LocalTrafficPolicy, ResolvedService } from "../model/target.js";

/**
 * A Service's Local traffic policy applied to a packet that reaches it at `node`: externalTrafficPolicy for a
 * NodePort entered from outside (the gateway router's load balancer has only the node's endpoints), and
 * internalTrafficPolicy for a pod sending to the cluster IP (the node switch's load balancer has only the node's
 * endpoints). The other nodes' backends are left out; with none left, OVN rejects the connection. Pure.
 */
export function applyTrafficPolicy(
  svc: ServiceObject,
  dst: ResolvedService,
  policy: LocalTrafficPolicy["policy"],
  node: string,
): ResolvedService {
  if (svc.spec?.[policy] !== "Local") return dst;
  const backends = dst.backends.filter((p) => p.node === node);
  return { ...dst, backends, local: { policy, node, elsewhere: dst.backends.length - backends.length } };
}
