/**
 * Command-line flags of the standalone simulator (`npm run simulator`).
 */
import { parseArgs } from 'node:util';
import type { GupshupSimulatorOptions } from './gupshup-simulator';

export interface SimulatorCommand {
  help: boolean;
  port: number;
  host: string;
  options: GupshupSimulatorOptions;
}

export const SIMULATOR_HELP = `Gupshup WhatsApp API simulator

Plays Gupshup's send API (POST /wa/api/v1/msg and /wa/api/v1/template/msg, form-urlencoded, header apikey)
and posts realistic delivery callbacks (v2 or v3 format) for every accepted message.

Usage: npm run simulator -- [flags]

  --port <n>             port to listen on (default 4010; 0 picks a free one)
  --host <address>       address to bind (default 127.0.0.1)
  --app <spec>           register an app, repeatable:
                           apikey:source:srcName[:callbackUrl[:v2|v3]]
                           e.g. --app my-key:917834811114:DemoAPI:http://127.0.0.1:3000/api/v1/apps/KEY/webhook/gupshup_whatsapp?token=TOKEN
                           (the callbackUrl the service gives for the app, its token included)
  --callback-url <url>   callback URL for apps registered without one (and for --accept-any-key)
  --format v2|v3         callback format for apps registered without one (default v2)
  --accept-any-key       accept any apikey, source and src.name, no registration needed
  --delay-ms <n>         wait before each callback (default 0)
  --reorder              post each message's callbacks in a shuffled order
  --duplicates           post every callback twice
  --read-without-delivered  skip delivered before read
  --omit-gsid            leave gsId out of sent/delivered/read (late DLRs)
  --callback-before-response  post callbacks before answering the send request
  --help                 show this text

Fate of a message, by the destination's last digit (override with PUT /__simulator/fates/:destination):
  0-5 read, 6-7 delivered, 8 sent only, 9 failed (1002 Number Does Not Exist On WhatsApp)

Control API (JSON), under /__simulator:
  GET|DELETE /requests              requests received
  GET /apps, PUT|DELETE /apps/:apikey   {source, srcName, callbackUrl?, callbackFormat?}
  GET|DELETE /fates, PUT|DELETE /fates/:destination   {final, code?, reason?, stage?, skipDelivered?, delayMs?, ...}
  GET|POST|DELETE /failures         {status?, count?, body?, message?, delayMs?, dropConnection?}
  GET|DELETE /messages, GET /messages/:messageId   accepted messages and their callbacks
  PUT /apps/:apikey/templates/:templateId   {status: approved|rejected|paused|disabled|deleted|pending, reason?, elementName?, languageCode?}
                                    posts a v2 template-event to the app's callback URL; later sends of
                                    a template not approved fail (4005 paused, 1004 disabled, 4003 otherwise)
  GET /template-events              template-events posted and their attempts
  GET|PATCH /settings, POST /reset
    settings include callbackRetries (default 3), callbackRetryBackoffMs (100, doubled per retry)
    and callbackRetryMaxBackoffMs (the doubling's ceiling, default none)
`;

export class CliUsageError extends Error {}

export function parseSimulatorArgs(argv: string[]): SimulatorCommand {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: false,
      options: {
        port: { type: 'string', default: '4010' },
        host: { type: 'string', default: '127.0.0.1' },
        app: { type: 'string', multiple: true, default: [] },
        'callback-url': { type: 'string' },
        format: { type: 'string' },
        'accept-any-key': { type: 'boolean', default: false },
        'delay-ms': { type: 'string' },
        reorder: { type: 'boolean', default: false },
        duplicates: { type: 'boolean', default: false },
        'read-without-delivered': { type: 'boolean', default: false },
        'omit-gsid': { type: 'boolean', default: false },
        'callback-before-response': { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    }));
  } catch (error) {
    throw new CliUsageError(error instanceof Error ? error.message : String(error));
  }

  const options: GupshupSimulatorOptions = {
    apps: values.app.map(parseAppSpec),
    acceptAnyKey: values['accept-any-key'],
    reorder: values.reorder,
    duplicates: values.duplicates,
    readWithoutDelivered: values['read-without-delivered'],
    omitGsId: values['omit-gsid'],
    callbackBeforeResponse: values['callback-before-response'],
  };
  if (values['callback-url'] !== undefined) options.defaultCallbackUrl = values['callback-url'];
  if (values.format !== undefined) options.callbackFormat = parseFormat(values.format, '--format');
  if (values['delay-ms'] !== undefined) options.delayMs = parseWholeNumber(values['delay-ms'], '--delay-ms', 600_000);

  return { help: values.help, port: parseWholeNumber(values.port, '--port', 65_535), host: values.host, options };
}

/** apikey:source:srcName[:callbackUrl[:v2|v3]]; the URL keeps its own colons. */
export function parseAppSpec(spec: string): NonNullable<GupshupSimulatorOptions['apps']>[number] {
  const [apiKey, source, srcName, ...rest] = spec.split(':');
  if (!apiKey || !source || !srcName) throw new CliUsageError(`--app expects apikey:source:srcName[:callbackUrl[:v2|v3]]`);
  let callbackUrl: string | undefined = rest.join(':') || undefined;
  let callbackFormat: 'v2' | 'v3' | undefined;
  const formatSuffix = callbackUrl?.match(/:(v2|v3)$/);
  if (formatSuffix) {
    callbackFormat = formatSuffix[1] as 'v2' | 'v3';
    callbackUrl = callbackUrl!.slice(0, -formatSuffix[0].length) || undefined;
  } else if (callbackUrl === 'v2' || callbackUrl === 'v3') {
    callbackFormat = callbackUrl;
    callbackUrl = undefined;
  }
  return {
    apiKey,
    source,
    srcName,
    ...(callbackUrl ? { callbackUrl } : {}),
    ...(callbackFormat ? { callbackFormat } : {}),
  };
}

function parseFormat(value: string, flag: string): 'v2' | 'v3' {
  if (value === 'v2' || value === 'v3') return value;
  throw new CliUsageError(`${flag} must be v2 or v3`);
}

function parseWholeNumber(value: string, flag: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) > max) throw new CliUsageError(`${flag} must be a whole number from 0 to ${max}`);
  return Number(value);
}
