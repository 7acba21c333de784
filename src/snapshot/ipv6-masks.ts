import { formatIp, parseIp } from "../net/ip.js";

/**
 * ovs-ofctl prints a non-prefix IPv6 mask as an address (`ipv6_dst=0:0:1000::/0:0:1000::`, `ipv6_dst=::/100::`:
 * OVN's flows for an ACL such as an EgressFirewall's `ip6.dst == ::/0 && ip6.dst != fd00:10:244::/48`, one flow
 * per bit), but reads a mask that starts with a decimal digit as a prefix length followed by garbage and refuses
 * the line (OVS 3.1 ipv6_parse_masked_len: `/%d` first), so a dump with such a flow cannot be replaced into a
 * replica. Written so that ovs-ofctl reads back the same flows:
 * - a mask whose first group is 0 with its leading zero groups as `::` (`::1000:0:0:0:0:0`): the very flow;
 * - a mask whose first group is other hex digits only (`100::`) has no such text: the flow becomes the flows that
 *   also match the fewest more bits of that group, each value of them (`::/b00::` and `200::/b00::`...,
 *   `a00` being the closest mask that starts with a letter), which together match the same packets, with the same
 *   priority, cookie and actions.
 */

const MASKED_IPV6 = /=([0-9a-fA-F:.]*:[0-9a-fA-F:.]*)\/([0-9][0-9a-fA-F:.]*:[0-9a-fA-F:.]*)(?=[,\s]|$)/;
const GROUP0_SHIFT = 112n;

/** The flow's lines (one, or the flows that replace it), each of which ovs-ofctl reads. */
export function parseableIpv6Masks(flow: string): string[] {
  const at = flow.search(/(?:^|[\s,])actions=/);
  const match = at === -1 ? flow : flow.slice(0, at);
  const rest = at === -1 ? "" : flow.slice(at);
  const m = MASKED_IPV6.exec(match);
  const value = m === null ? undefined : parseIp(m[1] ?? "");
  const mask = m === null ? undefined : parseIp(m[2] ?? "");
  if (m === null || value?.family !== 6 || mask?.family !== 6) return [flow];
  const replaced = (v: bigint, mk: string): string[] =>
    parseableIpv6Masks(
      `${match.slice(0, m.index)}=${formatIp({ family: 6, value: v })}/${mk}${match.slice(m.index + m[0].length)}${rest}`,
    );
  const group0 = mask.value >> GROUP0_SHIFT;
  if (group0 === 0n) return replaced(value.value, leadingZerosCompressed(mask.value));
  const extra = extraBits(Number(group0));
  const extraMask = BigInt(extra) << GROUP0_SHIFT;
  const widened = formatIp({ family: 6, value: mask.value | extraMask });
  return bitAssignments(extra).flatMap((bits) =>
    replaced((value.value & ~extraMask) | (BigInt(bits) << GROUP0_SHIFT), widened),
  );
}

/** `0:0:1000::` → `::1000:0:0:0:0:0` (the leading zero groups compressed, the rest in full). */
function leadingZerosCompressed(v: bigint): string {
  const groups = Array.from({ length: 8 }, (_, i) => (v >> BigInt(112 - 16 * i)) & 0xffffn);
  const lead = groups.findIndex((g) => g !== 0n);
  return `::${
    lead === -1
      ? ""
      : groups
          .slice(lead)
          .map((g) => g.toString(16))
          .join(":")
  }`;
}

const popcount = (n: number): number => n.toString(2).replace(/0/g, "").length;

/** The fewest bits outside `group0` that make the group's text start with a letter (smallest such set). */
function extraBits(group0: number): number {
  let best = 0;
  for (let e = 1; e <= 0xffff; e++) {
    if ((e & group0) !== 0 || !/^[a-f]/.test((group0 | e).toString(16))) continue;
    if (best === 0 || popcount(e) < popcount(best)) best = e;
  }
  return best;
}

/** Every value of the bits of `bits` (2^n of them, `bits` having n). */
function bitAssignments(bits: number): number[] {
  let out = [0];
  for (let b = 1; b <= bits; b <<= 1) if ((bits & b) !== 0) out = out.flatMap((x) => [x, x | b]);
  return out;
}
