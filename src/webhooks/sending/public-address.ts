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
  return parsed.range() === 'unicast';
}

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

/** Why a URL's host is not acceptable as a public destination, or null; IP literals are checked here, names by resolving them. */
export async function publicHostProblem(url: URL): Promise<string | null> {
  const host = hostOf(url);
  if (isIP(host)) return isPublicAddress(host) ? null : `${host} is not a public address`;
  if (host === 'localhost' || host.endsWith('.localhost')) return `${host} is not a public address`;
  const answer = await new Promise<{ addresses: LookupAddress[] } | { error: NodeJS.ErrnoException }>((resolve) =>
    dnsLookup(host, { all: true }, (error, found) => resolve(error ? { error } : { addresses: Array.isArray(found) ? found : [] })),
  );
  if ('error' in answer) return `${host} could not be resolved (${answer.error.code ?? answer.error.message})`;
  const { addresses } = answer;
  if (addresses.length === 0) return `${host} could not be resolved`;
  const refused = addresses.find((entry) => !isPublicAddress(entry.address));
  return refused ? `${host} resolves to ${refused.address}, which is not a public address` : null;
}
