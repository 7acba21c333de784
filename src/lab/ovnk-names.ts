/** Names and external_ids exactly as ovn-kubernetes derives them (pkg/libovsdb/ops/db_object_ids.go). */

export const CONTROLLER = "default-network-controller";

const FNV_OFFSET = 0xcbf29ce484222325n;
const FNV_PRIME = 0x100000001b3n;
const MASK64 = (1n << 64n) - 1n;

/** ovn-kubernetes' HashForOVN: "a" + decimal FNV-64a of the UTF-8 bytes. */
export function hashForOvn(s: string): string {
  let h = FNV_OFFSET;
  for (const byte of new TextEncoder().encode(s)) {
    h ^= BigInt(byte);
    h = (h * FNV_PRIME) & MASK64;
  }
  return `a${h.toString()}`;
}

/** A dbIDs object: owner type plus ordered keys; its `k8s.ovn.org/id` is controller:type:values. */
export interface DbIds {
  readonly ownerType: string;
  readonly keys: readonly (readonly [string, string])[];
}

export function dbId(ids: DbIds): string {
  return [CONTROLLER, ids.ownerType, ...ids.keys.map(([, v]) => v)].join(":");
}

export function dbExternalIds(ids: DbIds): Record<string, string> {
  return {
    "k8s.ovn.org/owner-controller": CONTROLLER,
    "k8s.ovn.org/owner-type": ids.ownerType,
    ...Object.fromEntries(ids.keys),
    "k8s.ovn.org/id": dbId(ids),
  };
}

/** The short label-selector text ovn-kubernetes puts into address-set names: LS{ML:{k: v,},}. */
export function selectorString(matchLabels: Readonly<Record<string, string>> | undefined): string {
  const entries = Object.entries(matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  if (entries.length === 0) return "LS{}";
  return `LS{ML:{${entries.map(([k, v]) => `${k}: ${v},`).join("")}},}`;
}
