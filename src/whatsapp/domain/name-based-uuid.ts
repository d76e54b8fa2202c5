import { createHash } from 'node:crypto';

const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Each namespace's 16 bytes: a few fixed namespaces, and an id is derived for every event translated. */
const namespaces = new Map<string, Buffer>();

function namespaceBytes(namespace: string): Buffer {
  let bytes = namespaces.get(namespace);
  if (!bytes) {
    if (!UUID_PATTERN.test(namespace)) throw new Error(`Namespace "${namespace}" is not a UUID`);
    bytes = Buffer.from(namespace.replace(/-/g, ''), 'hex');
    if (namespaces.size < 100) namespaces.set(namespace, bytes);
  }
  return bytes;
}

/**
 * A version 5 UUID (RFC 9562 §5.5): SHA-1 of the namespace's 16 bytes followed by the UTF-8
 * name, cut to 16 bytes, with the version and variant bits set. The same namespace and name
 * always give the same UUID, which is what makes appends keyed by it idempotent.
 */
export function uuidV5(name: string, namespace: string): string {
  const bytes = createHash('sha1').update(namespaceBytes(namespace)).update(name, 'utf8').digest().subarray(0, 16);
  bytes[6] = (bytes[6] & 0x0f) | 0x50;
  bytes[8] = (bytes[8] & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
