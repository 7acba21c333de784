/** IPv4/IPv6 addresses and prefixes as bigints: parsing, canonical text, containment. */

export type Family = 4 | 6;

export interface Ip {
  readonly family: Family;
  readonly value: bigint;
}

export interface Cidr {
  readonly family: Family;
  readonly base: bigint;
  readonly prefix: number;
}

const BITS: Record<Family, number> = { 4: 32, 6: 128 };

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) return undefined;
    v = (v << 8n) | BigInt(p);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  if (!/^[0-9a-fA-F:.]+$/.test(s) || s.split("::").length > 2) return undefined;
  const [head = "", tail] = s.split("::");
  const groups = (part: string): number[] | undefined => {
    if (part === "") return [];
    const out: number[] = [];
    const items = part.split(":");
    for (const [i, g] of items.entries()) {
      if (i === items.length - 1 && g.includes(".")) {
        const v4 = parseV4(g);
        if (v4 === undefined) return undefined;
        out.push(Number(v4 >> 16n), Number(v4 & 0xffffn));
      } else if (/^[0-9a-fA-F]{1,4}$/.test(g)) out.push(parseInt(g, 16));
      else return undefined;
    }
    return out;
  };
  const h = groups(head);
  const t = tail === undefined ? [] : groups(tail);
  if (h === undefined || t === undefined) return undefined;
  const missing = 8 - h.length - t.length;
  if (tail === undefined ? missing !== 0 : missing < 1) return undefined;
  let v = 0n;
  for (const g of [...h, ...Array<number>(tail === undefined ? 0 : missing).fill(0), ...t]) {
    v = (v << 16n) | BigInt(g);
  }
  return v;
}

export function parseIp(s: string): Ip | undefined {
  const v4 = parseV4(s);
  if (v4 !== undefined) return { family: 4, value: v4 };
  const v6 = parseV6(s);
  return v6 === undefined ? undefined : { family: 6, value: v6 };
}

export function parseCidr(s: string): Cidr | undefined {
  const [addr = "", len, ...rest] = s.split("/");
  if (rest.length > 0 || len === undefined || !/^\d{1,3}$/.test(len)) return undefined;
  const ip = parseIp(addr);
  if (ip === undefined) return undefined;
  const prefix = Number(len);
  if (prefix > BITS[ip.family]) return undefined;
  return { family: ip.family, base: ip.value & mask(ip.family, prefix), prefix };
}

function mask(family: Family, prefix: number): bigint {
  const bits = BigInt(BITS[family]);
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n);
}

export function formatIp(ip: Ip): string {
  if (ip.family === 4) {
    return [24n, 16n, 8n, 0n].map((sh) => String((ip.value >> sh) & 0xffn)).join(".");
  }
  // IPv4-mapped addresses keep the dotted quad (RFC 5952 section 5).
  if (ip.value >> 32n === 0xffffn) return `::ffff:${formatIp({ family: 4, value: ip.value & 0xffffffffn })}`;
  const groups = [...Array(8).keys()].map((i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn));
  // RFC 5952: compress the longest run (>= 2) of zero groups, the first one on a tie.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) [best, bestLen] = [i, j - i];
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(":");
  return `${hex.slice(0, best).join(":")}::${hex.slice(best + bestLen).join(":")}`;
}

export function formatCidr(c: Cidr): string {
  return `${formatIp({ family: c.family, value: c.base })}/${c.prefix}`;
}

/** Canonical text of an address (e.g. "fd00:10:244:0::3" → "fd00:10:244::3"), or undefined. */
export function canonicalIp(s: string): string | undefined {
  const ip = parseIp(s);
  return ip === undefined ? undefined : formatIp(ip);
}

export function contains(c: Cidr, ip: Ip): boolean {
  return c.family === ip.family && (ip.value & mask(c.family, c.prefix)) === c.base;
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  if (a.family !== b.family) return false;
  const p = Math.min(a.prefix, b.prefix);
  return (a.base & mask(a.family, p)) === (b.base & mask(b.family, p));
}

/** The n-th address of a prefix (n = 1 is the first host). */
export function nthIp(c: Cidr, n: number | bigint): Ip {
  return { family: c.family, value: c.base + BigInt(n) };
}

/** The n-th subnet of length `prefix` inside `c`. */
export function nthSubnet(c: Cidr, prefix: number, n: number): Cidr {
  const shift = BigInt(BITS[c.family] - prefix);
  return { family: c.family, base: c.base + (BigInt(n) << shift), prefix };
}

/** The host part of an address within its prefix (used to derive MACs and offsets). */
export function hostPart(c: Cidr, ip: Ip): bigint {
  return ip.value - c.base;
}

/** ovn-kubernetes' MAC for an IP: 0a:58 followed by the last four bytes of the address. */
export function macFromIp(ip: Ip): string {
  const low = ip.value & 0xffffffffn;
  const bytes = [24n, 16n, 8n, 0n].map((sh) => ((low >> sh) & 0xffn).toString(16).padStart(2, "0"));
  return `0a:58:${bytes.join(":")}`;
}

/**
 * `10.0.0.1:80`, `[fd00::1]:80`: an address and port as OVS, OVN and URLs write them. Without a port an
 * IPv6 address keeps its brackets (`[fd00::1]`, as `ct(nat(dst=...))` prints it) and IPv4 stays bare.
 */
export function hostPort(ip: string, port?: number | null): string {
  const host = ip.includes(":") ? `[${ip}]` : ip;
  return port === undefined || port === null ? host : `${host}:${String(port)}`;
}

/** The inverse of `hostPort`: `10.0.0.1:80`, `[fd00::1]:80`, `[fd00::1]`, `fd00::1`, `10.0.0.1` → address and port. */
export function splitHostPort(s: string): { ip: string; port?: number } {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (v6 !== null) return { ip: v6[1] ?? "", ...(v6[2] === undefined ? {} : { port: Number(v6[2]) }) };
  const v4 = /^([\d.]+):(\d+)$/.exec(s);
  if (v4 !== null) return { ip: v4[1] ?? "", port: Number(v4[2]) };
  return { ip: s };
}
