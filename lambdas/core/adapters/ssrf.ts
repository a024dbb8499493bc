/**
 * The SSRF policy for customer webhook endpoints: which addresses a webhook may reach, and which
 * endpoint URLs may be registered. Pure code (no I/O); http-delivery.ts applies it at connect time,
 * to the very addresses it connects to, so DNS rebinding cannot slip a private address through.
 *
 * Only public unicast addresses are allowed. Everything in the tables below is refused; with
 * `allowLoopback` (SESAME_ALLOW_LOOPBACK_WEBHOOKS=1, local mode) the loopback ranges alone are let
 * through. For IPv6, anything outside global unicast (2000::/3) is refused, and addresses that
 * embed an IPv4 address (IPv4-mapped ::ffff:a.b.c.d, 6to4 2002::/16) are judged by that address.
 */
import { isIP } from 'node:net';

export type RefusalCategory =
  | 'this-network'
  | 'private'
  | 'loopback'
  | 'link-local'
  | 'shared-cgnat'
  | 'multicast'
  | 'reserved'
  | 'documentation'
  | 'benchmarking'
  | 'unique-local'
  | 'nat64'
  | 'teredo'
  | 'not-global-unicast';

interface Range {
  readonly cidr: string;
  readonly category: RefusalCategory;
}

/** Refused IPv4 ranges (RFC 6890 special-purpose registry, trimmed to what matters here). */
export const REFUSED_V4: readonly Range[] = [
  { cidr: '0.0.0.0/8', category: 'this-network' },
  { cidr: '10.0.0.0/8', category: 'private' },
  { cidr: '100.64.0.0/10', category: 'shared-cgnat' },
  { cidr: '127.0.0.0/8', category: 'loopback' },
  { cidr: '169.254.0.0/16', category: 'link-local' }, // includes 169.254.169.254, the metadata service
  { cidr: '172.16.0.0/12', category: 'private' },
  { cidr: '192.0.0.0/24', category: 'reserved' }, // IETF protocol assignments
  { cidr: '192.0.2.0/24', category: 'documentation' },
  { cidr: '192.88.99.0/24', category: 'reserved' }, // former 6to4 relay anycast
  { cidr: '192.168.0.0/16', category: 'private' },
  { cidr: '198.18.0.0/15', category: 'benchmarking' },
  { cidr: '198.51.100.0/24', category: 'documentation' },
  { cidr: '203.0.113.0/24', category: 'documentation' },
  { cidr: '224.0.0.0/4', category: 'multicast' },
  { cidr: '240.0.0.0/4', category: 'reserved' }, // includes 255.255.255.255, the broadcast address
];

/** Refused IPv6 ranges. Checked before the global-unicast rule so that the reason is precise. */
export const REFUSED_V6: readonly Range[] = [
  { cidr: '::1/128', category: 'loopback' },
  { cidr: '::/128', category: 'this-network' },
  { cidr: '64:ff9b::/96', category: 'nat64' },
  { cidr: '64:ff9b:1::/48', category: 'nat64' },
  { cidr: 'fc00::/7', category: 'unique-local' },
  { cidr: 'fe80::/10', category: 'link-local' },
  { cidr: 'fec0::/10', category: 'link-local' }, // deprecated site-local
  { cidr: 'ff00::/8', category: 'multicast' },
  { cidr: '2001::/32', category: 'teredo' },
  { cidr: '2001:db8::/32', category: 'documentation' },
  { cidr: '3fff::/20', category: 'documentation' },
];

const GLOBAL_UNICAST_V6 = '2000::/3';
const MAPPED_V4 = '::ffff:0:0/96';
const SIX_TO_FOUR = '2002::/16';

export interface AddressPolicy {
  /** Lets loopback addresses through (local mode only). Nothing else is ever allowed. */
  readonly allowLoopback: boolean;
}

/** Why an address is refused, or undefined when it is a public address a webhook may reach. */
export function refusalOf(address: string, policy: AddressPolicy): RefusalCategory | undefined {
  const category = classify(address);
  if (category === undefined) return undefined;
  return category === 'loopback' && policy.allowLoopback ? undefined : category;
}

/** The special-purpose category of an IP address, or undefined for a public unicast address. */
export function classify(address: string): RefusalCategory | undefined {
  const ip = stripZone(address);
  const family = isIP(ip);
  if (family === 4) return classifyV4(parseV4(ip));
  if (family === 6) return classifyV6(parseV6(ip));
  throw new Error(`Not an IP address: ${address}`);
}

function classifyV4(value: bigint): RefusalCategory | undefined {
  return REFUSED_V4_COMPILED.find((r) => inRange(value, r))?.category;
}

function classifyV6(value: bigint): RefusalCategory | undefined {
  if (inRange(value, MAPPED_V4_COMPILED)) return classifyV4(value & 0xffffffffn);
  const listed = REFUSED_V6_COMPILED.find((r) => inRange(value, r));
  if (listed) return listed.category;
  if (inRange(value, SIX_TO_FOUR_COMPILED)) {
    const embedded = (value >> 80n) & 0xffffffffn;
    const inner = classifyV4(embedded);
    if (inner !== undefined) return inner;
  }
  return inRange(value, GLOBAL_UNICAST_COMPILED) ? undefined : 'not-global-unicast';
}

// --- parsing -------------------------------------------------------------------------------

interface Compiled {
  readonly base: bigint;
  readonly mask: bigint;
  readonly category: RefusalCategory;
}

function compile(range: Range, bits: 32 | 128): Compiled {
  const [addr, len] = range.cidr.split('/') as [string, string];
  const prefix = BigInt(len);
  const all = (1n << BigInt(bits)) - 1n;
  const mask = (all << (BigInt(bits) - prefix)) & all;
  const base = bits === 32 ? parseV4(addr) : parseV6(addr);
  return { base: base & mask, mask, category: range.category };
}

const inRange = (value: bigint, range: Compiled): boolean => (value & range.mask) === range.base;

const REFUSED_V4_COMPILED = REFUSED_V4.map((r) => compile(r, 32));
const REFUSED_V6_COMPILED = REFUSED_V6.map((r) => compile(r, 128));
const MAPPED_V4_COMPILED = compile({ cidr: MAPPED_V4, category: 'reserved' }, 128);
const SIX_TO_FOUR_COMPILED = compile({ cidr: SIX_TO_FOUR, category: 'reserved' }, 128);
const GLOBAL_UNICAST_COMPILED = compile({ cidr: GLOBAL_UNICAST_V6, category: 'reserved' }, 128);

const stripZone = (address: string): string => {
  const unbracketed = address.startsWith('[') && address.endsWith(']') ? address.slice(1, -1) : address;
  const zone = unbracketed.indexOf('%');
  return zone === -1 ? unbracketed : unbracketed.slice(0, zone);
};

function parseV4(ip: string): bigint {
  return ip.split('.').reduce((acc, part) => (acc << 8n) | BigInt(Number(part)), 0n);
}

/** An IPv6 address (already validated by isIP) as a 128-bit integer; handles `::` and a dotted tail. */
function parseV6(ip: string): bigint {
  let text = ip.toLowerCase();
  const dotted = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (dotted) {
    const v4 = parseV4(dotted[1]!);
    text = text.slice(0, -dotted[1]!.length) + `${(v4 >> 16n).toString(16)}:${(v4 & 0xffffn).toString(16)}`;
  }
  const [head, tail] = text.includes('::') ? (text.split('::') as [string, string]) : [text, undefined];
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - headGroups.length - tailGroups.length;
  const groups = [...headGroups, ...Array<string>(fill).fill('0'), ...tailGroups];
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(parseInt(g, 16)), 0n);
}

// --- endpoint URLs -------------------------------------------------------------------------

export interface EndpointPolicy extends AddressPolicy {
  /** Plain http:// endpoints; only in local mode, where nothing leaves the machine. */
  readonly allowHttp: boolean;
}

/**
 * Checks an endpoint URL at registration. Returns the reason it is refused, or undefined. A host
 * name is not resolved here (DNS can change before delivery): the connect-time guard decides then.
 */
export function endpointRefusal(raw: string, policy: EndpointPolicy): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    return 'The `endpoint` must be an absolute URL.';
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') return 'The `endpoint` must be an http(s) URL.';
  if (url.protocol === 'http:' && !policy.allowHttp) return 'The `endpoint` must use https.';
  if (url.username !== '' || url.password !== '') return 'The `endpoint` must not contain credentials.';
  if (url.hostname === '') return 'The `endpoint` must have a host.';
  const host = stripZone(url.hostname);
  if (isIP(host) !== 0) {
    const refusal = refusalOf(host, policy);
    if (refusal !== undefined) return `The \`endpoint\` host is a ${refusal} address, which webhooks may not reach.`;
  }
  return undefined;
}
