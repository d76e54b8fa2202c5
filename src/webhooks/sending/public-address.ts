import { lookup as dnsLookup, type LookupAddress, type LookupAllOptions, type LookupOneOptions } from 'node:dns';
import { isIP } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * Whether an IP address is on the public internet: not loopback, private, link-local, carrier-grade
 * NAT, multicast, reserved, or an IPv4 address hidden in an IPv6 one that is any of those.
 */
export function isPublicAddress(address: string): boolean {
  if (!ipaddr.isValid(address)) return false;
  let parsed = ipaddr.parse(address);
  if (parsed.kind() === 'ipv6' && (parsed as ipaddr.IPv6).isIPv4MappedAddress()) parsed = (parsed as ipaddr.IPv6).toIPv4Address();
  // IPv6's internet is 2000::/3 (global unicast): outside it, addresses the range table calls
  // unicast are reserved, like the IPv4-compatible ::a.b.c.d (::/96) that can hide 127.0.0.1.
  if (parsed.kind() === 'ipv6' && !parsed.match(GLOBAL_UNICAST_V6)) return false;
  return parsed.range() === 'unicast';
}

const GLOBAL_UNICAST_V6 = ipaddr.parseCIDR('2000::/3') as [ipaddr.IPv6, number];

export class PrivateAddressError extends Error {
  readonly code = 'EWEBHOOK_PRIVATE_ADDRESS';
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/**
 * A `dns.lookup` for the HTTP client's connections that refuses to connect to an address that is
 * not public: a host name that passed the check when the endpoint was saved may resolve inside
 * later (DNS rebinding), so the answer is checked at connection time, on the address used.
 */
export function publicOnlyLookup(hostname: string, options: LookupOneOptions | LookupAllOptions, callback: LookupCallback): void {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses) => {
    if (error) return callback(error, '');
    const list = addresses as LookupAddress[];
    const refused = list.find((entry) => !isPublicAddress(entry.address));
    if (refused || list.length === 0) {
      return callback(new PrivateAddressError(`${hostname} resolves to ${refused?.address ?? 'no address'}, which is not a public address`), '');
    }
    if ((options as LookupAllOptions).all) return callback(null, list);
    callback(null, list[0].address, list[0].family);
  });
}

/** The host of a URL without IPv6 brackets. */
export function hostOf(url: URL): string {
  return url.hostname.replace(/^\[|\]$/g, '');
}

/** Why a URL's host is not acceptable as a public destination: its name does not resolve, or it is not public. */
export type HostProblem = { kind: 'unresolved' | 'not-public'; detail: string };

/** What keeps a URL's host from being a public destination, or null; IP literals are checked here, names by resolving them. */
export async function publicHostProblem(url: URL): Promise<HostProblem | null> {
  const host = hostOf(url);
  const notPublic = (detail: string): HostProblem => ({ kind: 'not-public', detail });
  if (isIP(host)) return isPublicAddress(host) ? null : notPublic(`${host} is not a public address`);
  if (host === 'localhost' || host.endsWith('.localhost')) return notPublic(`${host} is not a public address`);
  const answer = await new Promise<{ addresses: LookupAddress[] } | { error: NodeJS.ErrnoException }>((resolve) =>
    dnsLookup(host, { all: true }, (error, found) => resolve(error ? { error } : { addresses: Array.isArray(found) ? found : [] })),
  );
  if ('error' in answer || answer.addresses.length === 0) {
    const reason = 'error' in answer ? ` (${answer.error.code ?? answer.error.message})` : '';
    return { kind: 'unresolved', detail: `${host} could not be resolved${reason}` };
  }
  const refused = answer.addresses.find((entry) => !isPublicAddress(entry.address));
  return refused ? notPublic(`${host} resolves to ${refused.address}, which is not a public address`) : null;
}
