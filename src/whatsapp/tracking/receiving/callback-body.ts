export type DecodedBody = { ok: true; json: unknown; text: string } | { ok: false; problem: string };

/**
 * The request body as JSON, whatever content type it was sent with (Gupshup sends
 * application/json; a JSON body sent as text/plain is accepted as well). Parsed once, here: the
 * text is what gets recorded, the value only tells a callback's shape.
 */
export function decodeCallbackBody(body: unknown): DecodedBody {
  const bytes = Buffer.isBuffer(body) ? body : typeof body === 'string' ? Buffer.from(body) : Buffer.alloc(0);
  let text = bytes.toString('utf8');
  // A UTF-8 byte order mark is not JSON, but some senders put one.
  if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
  try {
    return { ok: true, json: JSON.parse(text), text };
  } catch (error) {
    // Told apart only once parsing failed: an empty body does not parse either.
    if (text.trim() === '') return { ok: false, problem: 'The callback body is empty: send the Gupshup event as a JSON object' };
    return { ok: false, problem: `The callback body is not valid JSON (${(error as Error).message}): send the Gupshup event as a JSON object` };
  }
}

export type CallbackShape = 'v2' | 'v3' | 'unknown';

/** The format a body claims, from its top-level fields only (the translator reads the rest). */
export function callbackShape(json: unknown): CallbackShape {
  if (typeof json !== 'object' || json === null || Array.isArray(json)) return 'unknown';
  const body = json as Record<string, unknown>;
  if (body.object === 'whatsapp_business_account') return 'v3';
  if (typeof body.type === 'string' && typeof body.payload === 'object' && body.payload !== null && !Array.isArray(body.payload)) return 'v2';
  return 'unknown';
}
