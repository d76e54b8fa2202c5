import type { LoggerService } from '@nestjs/common';
import type { FastifyBaseLogger, FastifyServerOptions } from 'fastify';
import pino, { type Level, type Logger as PinoLogger, type LoggerOptions } from 'pino';
import pinoPretty from 'pino-pretty';
import type { AppConfigValues } from '../config/config.schema';
import { currentRequestContext } from './request-context';

export type LogFormat = 'json' | 'pretty';

/** Where log lines go: stdout by default; tests pass a stream of their own. */
export type LogDestination = NodeJS.WritableStream & { isTTY?: boolean };

export interface RootLoggerOptions {
  level: AppConfigValues['LOG_LEVEL'];
  /** LOG_FORMAT; unset: chosen from the destination (see chooseLogFormat). */
  format?: LogFormat;
  destination?: LogDestination;
}

/** Field names whose values never appear in a log line, at the top of an object logged or one level down. */
const SECRET_FIELDS = ['apikey', 'apiKey', 'API_KEY', 'apiSecret', 'secret', 'token', 'password', 'authorization'];
const REDACTED_PATHS = [
  ...SECRET_FIELDS,
  ...SECRET_FIELDS.map((field) => `*.${field}`),
  'headers["x-engagespot-api-secret"]',
  '*.headers["x-engagespot-api-secret"]',
  '*.headers.authorization',
];
/**
 * Parameter names whose values are replaced when they appear in a URL's path (`/x;token=…`, or a
 * query whose `?` came percent-encoded is read as the query, below). Every value of the query is
 * replaced whatever its name: a callback token may come under any name (`?callbackToken=`, `?x=`).
 */
const SECRET_QUERY_PARAMETERS = ['token', 'apikey', 'api_key', 'secret', 'password'];
export const REDACTED = '[redacted]';

/**
 * LOG_FORMAT when it is set; otherwise pretty lines for a person at a terminal, and one JSON object
 * a line for a file, a pipe or a log collector.
 */
export function chooseLogFormat(configured: LogFormat | undefined, outputIsTerminal: boolean): LogFormat {
  return configured ?? (outputIsTerminal ? 'pretty' : 'json');
}

/**
 * A secret parameter in the decoded text of a URL's path: its name, not preceded by a letter or a
 * digit (so `;token=` counts), then `=` directly or after a suffix such as `[]` or `[0]` (not
 * `_id`, not `s`), then its value: up to the next `&`, `;` or `#`, or the end.
 */
const SECRET_PARAMETER = new RegExp(`(?<![a-z0-9])(?:${SECRET_QUERY_PARAMETERS.join('|')})(?:[^a-z0-9_=&;#/?][^=&;#/?]*)?=([^&;#]*)`, 'gi');

/**
 * Any parameter with a value in the decoded text of a URL's query: a name (anything up to `=`,
 * `&`, `;` or `#`), `=`, then its value up to the next `&`, `;` or `#`, or the end. `;` and `#`
 * end a value too, so that an HTML-escaped `&amp;token=` is read as a parameter of its own.
 */
const QUERY_PARAMETER = /[^=&;#]*=([^&;#]*)/g;

/** A query parameter without `=` between two `&` (or the query's start, its end or `#`): a secret pasted alone reads as one. */
const BARE_QUERY_PARAMETER = /(?<=^|&)[^=&;#]+(?=&|#|$)/g;

/** One character of a URL's fully decoded text, and the raw text it came from (`k`, `%6B`, `%256B`…). */
interface DecodedUnit {
  raw: string;
  char: string;
}

const HEX_DIGIT = /^[0-9a-f]$/i;

/**
 * The URL's text percent-decoded however many times it was encoded, each character with the raw
 * text it came from. One pass: whenever the last three units read `%`, a hex digit and a hex
 * digit, they become one (`%25` `6` `B` → `%` then `%256B` → `k`), so a URL of any nesting costs
 * one pass. Bytes are read one by one (as Latin-1): the names and separators looked for are ASCII.
 * The URL is read by UTF-16 unit, so every unit stands for exactly one character of the decoded text.
 */
function decodeUnits(url: string): DecodedUnit[] {
  const units: DecodedUnit[] = [];
  for (const char of url.split('')) {
    units.push({ raw: char, char });
    for (let top = units.length; top >= 3; top = units.length) {
      const [percent, high, low] = units.slice(top - 3);
      if (percent.char !== '%' || !HEX_DIGIT.test(high.char) || !HEX_DIGIT.test(low.char)) break;
      units.splice(top - 3, 3, { raw: percent.raw + high.raw + low.raw, char: String.fromCharCode(parseInt(high.char + low.char, 16)) });
    }
  }
  return units;
}

/**
 * `url` with the value of every query parameter replaced, whatever its name (`?token=[redacted]&x=[redacted]`),
 * and, before the query, the value of every secret parameter (token, apikey, api_key, secret,
 * password: `/x;token=[redacted]`). The query starts at the first `?`, also when it came
 * percent-encoded (`%3F`), which the router reads as part of the path. Names and separators are
 * read in the fully decoded text: a name or an `=` percent-encoded any number of times counts
 * (`to%6Ben`, `token%253D…`). A parameter without `=` is replaced whole (`?[redacted]`): it may
 * be a value sent alone. A replaced `=` is written plainly; the rest of the URL is kept as it
 * came, so the path and the parameters' names stay readable.
 */
export function redactUrl(url: string): string {
  // No `%`, `=` or `?`: nothing to look at (the common case, a path without query).
  if (!url.includes('=') && !url.includes('%') && !url.includes('?')) return url;
  const units = decodeUnits(url);
  // One UTF-16 unit per unit (a byte or a character of the URL as it came): indexes match.
  const decoded = units.map((unit) => unit.char).join('');
  const queryStart = decoded.indexOf('?');
  const pathEnd = queryStart === -1 ? decoded.length : queryStart;
  // What to replace (from `start` to `end` in the decoded text) and with what, in order.
  const replaced: { start: number; end: number; text: string }[] = [];
  const value = (end: number, length: number) => ({ start: end - length - 1, end, text: `=${REDACTED}` });
  for (const match of decoded.slice(0, pathEnd).matchAll(SECRET_PARAMETER)) {
    replaced.push(value(match.index + match[0].length, match[1].length));
  }
  if (queryStart !== -1) {
    const query = decoded.slice(queryStart + 1);
    for (const match of query.matchAll(QUERY_PARAMETER)) {
      replaced.push(value(queryStart + 1 + match.index + match[0].length, match[1].length));
    }
    for (const match of query.matchAll(BARE_QUERY_PARAMETER)) {
      const start = queryStart + 1 + match.index;
      replaced.push({ start, end: start + match[0].length, text: REDACTED });
    }
    replaced.sort((a, b) => a.start - b.start);
  }
  if (replaced.length === 0) return url;
  let redacted = '';
  let kept = 0;
  for (const { start, end, text } of replaced) {
    redacted += units.slice(kept, start).map((unit) => unit.raw).join('') + text;
    kept = end;
  }
  return redacted + units.slice(kept).map((unit) => unit.raw).join('');
}

/**
 * The service's one pino logger: Fastify logs through it and so does every Nest `Logger` (through
 * PinoLoggerService). JSON lines carry `time`, `level` (a name), `message` and the fields given;
 * pretty lines are for a terminal, in colour only when the output is one.
 */
export function createRootLogger(options: RootLoggerOptions): PinoLogger {
  const destination = options.destination ?? process.stdout;
  const isTerminal = destination.isTTY === true;
  const common: LoggerOptions = {
    level: options.level,
    messageKey: 'message',
    redact: { paths: REDACTED_PATHS, censor: REDACTED },
    serializers: {
      err: pino.stdSerializers.err,
      // Fastify's own lines about a request (its errors): never the headers, and the URL without secrets.
      req: (request: { method?: string; url?: string; id?: string }) => ({ method: request.method, url: request.url && redactUrl(request.url) }),
    },
  };
  if (chooseLogFormat(options.format, isTerminal) === 'pretty') {
    const pretty = pinoPretty({
      destination: options.destination ?? 1,
      colorize: isTerminal,
      messageKey: 'message',
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname,context',
      singleLine: true,
      messageFormat: (log, messageKey) => (typeof log.context === 'string' ? `[${log.context}] ${String(log[messageKey])}` : String(log[messageKey])),
    });
    return pino(common, pretty);
  }
  return pino(
    { ...common, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    // Written as the event loop allows rather than one blocking write a line; flushed when the process exits.
    options.destination ?? pino.destination({ dest: 1, sync: false }),
  ) as PinoLogger;
}

const STACK_TRACE = /^.+\n\s+at .+:\d+:\d+/s;

/**
 * Nest's LoggerService over the root pino logger, so that every `new Logger(context)` writes
 * structured lines: `context`, the current request's `requestId` and `appId`, and the fields of a
 * message given as an object (`logger.warn({ message: '...', messageId, attempt })`).
 */
export class PinoLoggerService implements LoggerService {
  constructor(readonly pino: PinoLogger) {}

  log(message: unknown, ...params: unknown[]): void {
    this.write('info', message, params);
  }

  error(message: unknown, ...params: unknown[]): void {
    this.write('error', message, params);
  }

  warn(message: unknown, ...params: unknown[]): void {
    this.write('warn', message, params);
  }

  debug(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  /** LOG_LEVEL has no level below debug: Nest's verbose lines are debug lines. */
  verbose(message: unknown, ...params: unknown[]): void {
    this.write('debug', message, params);
  }

  fatal(message: unknown, ...params: unknown[]): void {
    this.write('fatal', message, params);
  }

  /** Whether a line of this level would be written: a caller can skip building one that would not. */
  isLevelEnabled(level: Level): boolean {
    return this.pino.isLevelEnabled(level);
  }

  private write(level: Level, message: unknown, params: unknown[]): void {
    if (!this.pino.isLevelEnabled(level)) return;
    const { context, stack, extra } = splitParams(params, level === 'error' || level === 'fatal');
    const fields: Record<string, unknown> = {};
    if (context !== undefined) fields.context = context;
    const request = currentRequestContext();
    if (request) {
      fields.requestId = request.requestId;
      if (request.appId !== undefined) fields.appId = request.appId;
    }
    let text: string;
    if (message instanceof Error) {
      fields.err = message;
      text = message.message;
    } else if (isPlainObject(message)) {
      const { message: inner, msg, ...rest } = message;
      Object.assign(fields, rest);
      text = String(inner ?? msg ?? '');
    } else {
      text = String(message);
    }
    if (stack !== undefined) fields.stack = stack;
    for (const param of extra) {
      if (isPlainObject(param)) Object.assign(fields, param);
      else if (param instanceof Error) fields.err = param;
      else text += ` ${String(param)}`;
    }
    // A line about a notification names its requestId (the notification request's); written while
    // serving an HTTP request, it still names that request's id too (x-request-id).
    if (request && fields.requestId !== request.requestId) fields.httpRequestId = request.requestId;
    this.pino[level](fields, text);
  }
}

/**
 * Nest passes the context last (`new Logger('Dispatcher').error(message, stack)` arrives as
 * `error(message, stack, 'Dispatcher')`, and `error(message)` as `error(message, undefined, 'Dispatcher')`).
 */
function splitParams(params: unknown[], isError: boolean): { context?: string; stack?: string; extra: unknown[] } {
  const rest = [...params];
  let context: string | undefined;
  const last = rest.at(-1);
  if (typeof last === 'string' && !(isError && rest.length === 1 && STACK_TRACE.test(last))) {
    context = last;
    rest.pop();
  }
  let stack: string | undefined;
  if (isError && rest.length > 0 && (typeof rest[0] === 'string' || rest[0] === undefined)) stack = rest.shift() as string | undefined;
  return { context, stack, extra: rest.filter((param) => param !== undefined) };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  if (typeof value !== 'object' || value === null) return false;
  const prototype = Object.getPrototypeOf(value) as unknown;
  return prototype === Object.prototype || prototype === null;
}

/**
 * A request's logger, made only when something logs through it: Fastify gives every request one,
 * and a pino child with redaction configured costs a redaction pass over its bindings, while
 * nearly every request logs nothing through it (the access line is RequestLogging's).
 */
class LazyChildLogger {
  private made?: FastifyBaseLogger;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly bindings: Record<string, unknown>,
    private readonly options: Record<string, unknown>,
  ) {}

  private get real(): FastifyBaseLogger {
    return (this.made ??= this.parent.child(this.bindings, this.options));
  }

  get level(): string {
    return this.real.level;
  }

  set level(level: string) {
    this.real.level = level;
  }

  fatal(...args: unknown[]): void {
    (this.real.fatal as (...a: unknown[]) => void)(...args);
  }

  error(...args: unknown[]): void {
    (this.real.error as (...a: unknown[]) => void)(...args);
  }

  warn(...args: unknown[]): void {
    (this.real.warn as (...a: unknown[]) => void)(...args);
  }

  info(...args: unknown[]): void {
    (this.real.info as (...a: unknown[]) => void)(...args);
  }

  debug(...args: unknown[]): void {
    (this.real.debug as (...a: unknown[]) => void)(...args);
  }

  trace(...args: unknown[]): void {
    (this.real.trace as (...a: unknown[]) => void)(...args);
  }

  silent(...args: unknown[]): void {
    (this.real.silent as (...a: unknown[]) => void)(...args);
  }

  child(bindings: Record<string, unknown>, options?: Record<string, unknown>): FastifyBaseLogger {
    return this.real.child(bindings, options);
  }
}

/** Fastify's childLoggerFactory: see LazyChildLogger. */
export const lazyRequestLogger: NonNullable<FastifyServerOptions['childLoggerFactory']> = (logger, bindings, options) =>
  new LazyChildLogger(logger, bindings, options as Record<string, unknown>) as unknown as FastifyBaseLogger;
