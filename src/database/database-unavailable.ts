/** SQLSTATE classes of a server that cannot serve: connection exception, insufficient resources, operator intervention. */
const UNAVAILABLE_SQLSTATE_CLASSES = new Set(['08', '53', '57']);
const UNAVAILABLE_NETWORK_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EHOSTUNREACH', 'EAI_AGAIN']);
/** node-postgres reports a lost or unobtainable connection with a plain Error. */
const UNAVAILABLE_MESSAGES =
  /timeout exceeded when trying to connect|Connection terminated|connection error|Cannot use a pool after calling end|Client has encountered a connection error|the database system is (starting up|shutting down)|is not currently accepting connections/i;

/**
 * Whether `error` (or what caused it) says the database cannot be reached or is going away, as
 * opposed to a fault of the request or of the code: worth a 503 and a retry later.
 */
export function isDatabaseUnavailable(error: unknown): boolean {
  for (let current = error, depth = 0; current && depth < 4; current = (current as { cause?: unknown }).cause, depth++) {
    const { code, message } = current as { code?: unknown; message?: unknown };
    if (typeof code === 'string' && (UNAVAILABLE_NETWORK_CODES.has(code) || (code.length === 5 && UNAVAILABLE_SQLSTATE_CLASSES.has(code.slice(0, 2))))) return true;
    if (typeof message === 'string' && UNAVAILABLE_MESSAGES.test(message)) return true;
  }
  return false;
}
