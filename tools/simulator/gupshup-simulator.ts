/**
 * A local stand-in for Gupshup's WhatsApp API over loopback HTTP: it checks send requests like the real API,
 * answers with its bodies, and posts realistic callbacks for every accepted message. Tests and people drive it
 * through its control API (HTTP under /__simulator, or the methods of the object returned here).
 */
import { randomUUID } from 'node:crypto';
import { EventEmitter, setMaxListeners } from 'node:events';
import { STATUS_CODES } from 'node:http';
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import type { CallbackFormat, ProviderStatus } from '../../src/whatsapp/gupshup/callback-parser';
import { buildCallbackBody, newWhatsAppMessageId, type CallbackMessageContext } from './callback-payloads';
import { CallbackSender, pause, type CallbackAttempt } from './callback-sender';
import {
  ControlInputError,
  appRegistrationSchema,
  destinationSchema,
  failureInjectionSchema,
  fateRuleSchema,
  parseOrThrow,
  settingsSchema,
  type AppRegistration,
  type FailureInjection,
  type PendingFailure,
  type SettingsPatch,
} from './control-schemas';
import {
  DEFAULT_CALLBACK_BEHAVIOUR,
  defaultFateFor,
  emissionOrder,
  plannedStatuses,
  resolveFate,
  type CallbackBehaviour,
  type FateRule,
  type ResolvedFate,
} from './fates';
import { maskApiKey, maskUrl } from './log-format';
import { validateSendRequest, type SendEndpoint } from './send-validation';
import { buildTemplateEventBody, templateSendFailure, templateStatusSchema, type SimulatedTemplateStatus, type TemplateStatusChange } from './template-events';

export interface SimulatorSettings extends CallbackBehaviour {
  /** Where callbacks go for apps registered without a callback URL (and for any key with acceptAnyKey). */
  defaultCallbackUrl: string | null;
  callbackFormat: CallbackFormat;
  acceptAnyKey: boolean;
  /** Content type of a successful send answer; Gupshup's docs list text/html, so clients must not rely on it. */
  responseContentType: 'application/json' | 'text/html';
  successStatus: 200 | 202;
  /** Provider time between two successive events of a message, so seconds-resolution timestamps stay ordered. */
  eventTimeStepMs: number;
  callbackTimeoutMs: number;
  callbackRetries: number;
  callbackRetryBackoffMs: number;
  /**
   * Ceiling of the doubling wait between callback retries; null: none. With many retries and a
   * low ceiling, callbacks keep coming every so often through a long outage of the receiver.
   */
  callbackRetryMaxBackoffMs: number | null;
  v3FailedStyle: 'errors' | 'flat';
}

export interface GupshupSimulatorOptions extends SettingsPatch {
  apps?: (AppRegistration & { apiKey: string })[];
  /** Decides fates for destinations without an override; the last-digit rule otherwise (see defaultFateFor). */
  fateRule?: (destination: string) => FateRule;
  /** Source of randomness for ids and shuffles; Math.random by default. */
  random?: () => number;
  /** Receives one line per request answered and per callback attempt. */
  log?: (line: string) => void;
}

export interface RecordedRequest {
  sequence: number;
  receivedAt: string;
  method: string;
  path: string;
  query: Record<string, string>;
  /** Names lower-cased; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Form fields (first value of a repeated field); empty when the body was not form-urlencoded. */
  form: Record<string, string>;
  /** The body as received when it was not form-urlencoded. */
  rawBody?: string;
  response?: { status?: number; body?: string; contentType?: string; dropped?: boolean };
}

export type CallbackState = 'pending' | 'delivered' | 'failed' | 'cancelled' | 'no-callback-url';

export interface SimulatedCallback {
  messageId: string;
  /** Position in the order of posting. */
  position: number;
  event: ProviderStatus;
  /** The second copy of an event when duplicates are on. */
  duplicate: boolean;
  format: CallbackFormat;
  url?: string;
  body: Record<string, unknown>;
  state: CallbackState;
  attempts: CallbackAttempt[];
}

export interface SimulatedMessage {
  messageId: string;
  whatsappMessageId: string;
  endpoint: SendEndpoint;
  apiKey: string;
  appName: string;
  source: string;
  destination: string;
  message?: unknown;
  template?: unknown;
  acceptedAt: string;
  fate: ResolvedFate;
  callbackUrl?: string;
  callbackFormat: CallbackFormat;
  callbacks: SimulatedCallback[];
}

/** A template-event the simulator posted (or could not post: no callback URL). */
export interface SimulatedTemplateEvent {
  templateId: string;
  status: SimulatedTemplateStatus;
  url?: string;
  body: Record<string, unknown>;
  state: CallbackState;
  attempts: CallbackAttempt[];
}

export interface SimulatorAppView {
  apiKey: string;
  source: string;
  srcName: string;
  callbackUrl?: string;
  callbackFormat?: CallbackFormat;
  appId: string;
}

interface StoredApp {
  source: string;
  srcName: string;
  callbackUrl?: string;
  callbackFormat?: CallbackFormat;
  appId: string;
}

const DEFAULT_SETTINGS: SimulatorSettings = {
  ...DEFAULT_CALLBACK_BEHAVIOUR,
  defaultCallbackUrl: null,
  callbackFormat: 'v2',
  acceptAnyKey: false,
  responseContentType: 'application/json',
  successStatus: 200,
  eventTimeStepMs: 1000,
  callbackTimeoutMs: 5000,
  callbackRetries: 3,
  callbackRetryBackoffMs: 100,
  callbackRetryMaxBackoffMs: null,
  v3FailedStyle: 'errors',
};

const CONTROL_PREFIX = '/__simulator';
const DEFAULT_WAIT_MS = 10_000;
/** A simulator left running for days keeps only this many requests and messages, the oldest dropped first. */
const MAX_RECORDS = 10_000;

export function createGupshupSimulator(options: GupshupSimulatorOptions = {}): GupshupSimulator {
  return new GupshupSimulator(options);
}

export class GupshupSimulator {
  private readonly server: FastifyInstance;
  private readonly sender = new CallbackSender();
  private readonly changes = new EventEmitter();
  private readonly stopping = new AbortController();
  private readonly random: () => number;
  private readonly log: (line: string) => void;
  private readonly initialSettings: SimulatorSettings;
  private readonly initialApps: Map<string, StoredApp>;

  private currentSettings: SimulatorSettings;
  private registeredApps = new Map<string, StoredApp>();
  private readonly anyKeyAppIds = new Map<string, string>();
  private readonly fateOverrides = new Map<string, FateRule>();
  /** Per Gupshup API key, its templates' statuses as last set (unknown ones are approved). */
  private readonly templateStatuses = new Map<string, Map<string, SimulatedTemplateStatus>>();
  private postedTemplateEvents: SimulatedTemplateEvent[] = [];
  private pendingFailures: PendingFailure[] = [];
  private recordedRequests: RecordedRequest[] = [];
  private acceptedMessages: SimulatedMessage[] = [];
  private readonly inFlightCallbacks = new Set<Promise<void>>();
  private requestSequence = 0;
  private listeningUrl: string | undefined;
  private closing: Promise<void> | undefined;

  constructor(private readonly options: GupshupSimulatorOptions = {}) {
    const { apps = [], fateRule: _fateRule, random, log, ...settings } = options;
    this.random = random ?? Math.random;
    this.log = log ?? (() => undefined);
    this.currentSettings = { ...DEFAULT_SETTINGS, ...withoutUndefined(parseOrThrow(settingsSchema, settings, 'simulator options')) };
    this.initialSettings = { ...this.currentSettings };
    for (const { apiKey, ...app } of apps) this.registerApp(apiKey, app);
    this.initialApps = new Map(this.registeredApps);
    this.changes.setMaxListeners(0);
    // Every callback waiting for its retry listens to it: hundreds during a long outage of the receiver.
    setMaxListeners(0, this.stopping.signal);
    this.server = this.buildServer();
  }

  /** The base URL once listening, e.g. http://127.0.0.1:4010. */
  get baseUrl(): string | undefined {
    return this.listeningUrl;
  }

  async listen(port = 0, host = '127.0.0.1'): Promise<string> {
    await this.server.listen({ port, host });
    const address = this.server.server.address() as AddressInfo;
    this.listeningUrl = `http://${reachableHost(host)}:${address.port}`;
    return this.listeningUrl;
  }

  /** Stops posting callbacks, closes every connection and the listener. Safe to call twice. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.stopping.abort();
      await Promise.allSettled([...this.inFlightCallbacks]);
      await this.server.close();
      await this.sender.close();
      this.changes.removeAllListeners();
    })();
    return this.closing;
  }

  requests(): RecordedRequest[] {
    return structuredClone(this.recordedRequests);
  }

  clearRequests(): void {
    this.recordedRequests = [];
    this.changed();
  }

  registerApp(apiKey: string, app: AppRegistration): SimulatorAppView {
    if (typeof apiKey !== 'string' || apiKey.trim() === '') throw new ControlInputError('invalid app: the API key must not be empty');
    const parsed = parseOrThrow(appRegistrationSchema, app, 'app');
    const stored: StoredApp = { ...withoutUndefined(parsed), appId: this.registeredApps.get(apiKey)?.appId ?? randomUUID() };
    this.registeredApps.set(apiKey, stored);
    this.changed();
    return appView(apiKey, stored);
  }

  removeApp(apiKey: string): boolean {
    const removed = this.registeredApps.delete(apiKey);
    this.changed();
    return removed;
  }

  apps(): SimulatorAppView[] {
    return [...this.registeredApps].map(([apiKey, app]) => appView(apiKey, app));
  }

  setFate(destination: string, fate: FateRule): FateRule {
    const key = parseOrThrow(destinationSchema, destination, 'destination');
    const parsed = withoutUndefined(parseOrThrow(fateRuleSchema, fate, 'fate')) as FateRule;
    this.fateOverrides.set(key, parsed);
    this.changed();
    return parsed;
  }

  clearFate(destination: string): boolean {
    const removed = this.fateOverrides.delete(destination.replace(/^\+/, ''));
    this.changed();
    return removed;
  }

  clearFates(): void {
    this.fateOverrides.clear();
    this.changed();
  }

  fates(): Record<string, FateRule> {
    return structuredClone(Object.fromEntries(this.fateOverrides));
  }

  /** Makes the next `count` send requests fail as described, before any other check. Injections queue up. */
  injectFailure(failure: FailureInjection): PendingFailure[] {
    this.pendingFailures.push(parseOrThrow(failureInjectionSchema, failure, 'failure'));
    this.changed();
    return this.failures();
  }

  clearFailures(): void {
    this.pendingFailures = [];
    this.changed();
  }

  failures(): PendingFailure[] {
    return structuredClone(this.pendingFailures);
  }

  messages(): SimulatedMessage[] {
    return structuredClone(this.acceptedMessages);
  }

  /**
   * Sets the status of one of an app's templates, as Gupshup's review or Meta's quality rating would,
   * and posts the template-event (v2) to the app's callback URL; resolves once it was answered (or
   * given up). Later sends of a rejected, paused, disabled, deleted or pending template fail in a
   * callback with Gupshup's code for it.
   */
  async setTemplateStatus(apiKey: string, templateId: string, change: TemplateStatusChange): Promise<SimulatedTemplateEvent> {
    const parsed = parseOrThrow(templateStatusSchema, change, 'template status');
    if (typeof templateId !== 'string' || templateId.trim() === '') throw new ControlInputError('invalid template: the template id must not be empty');
    const app = this.registeredApps.get(apiKey);
    if (!app && !this.currentSettings.acceptAnyKey) throw new ControlInputError('invalid template: no app is registered with this API key');
    let statuses = this.templateStatuses.get(apiKey);
    if (!statuses) this.templateStatuses.set(apiKey, (statuses = new Map()));
    statuses.set(templateId, parsed.status);
    const url = app?.callbackUrl ?? this.currentSettings.defaultCallbackUrl ?? undefined;
    const event: SimulatedTemplateEvent = {
      templateId,
      status: parsed.status,
      ...(url ? { url } : {}),
      body: buildTemplateEventBody(app?.srcName ?? 'DemoAPI', templateId, parsed, Date.now()),
      state: url ? 'pending' : 'no-callback-url',
      attempts: [],
    };
    this.postedTemplateEvents.push(event);
    if (this.postedTemplateEvents.length > MAX_RECORDS) this.postedTemplateEvents.shift();
    this.changed();
    if (!url) return structuredClone(event);
    const settings = this.currentSettings;
    const run = (async () => {
      const delivered = await this.sender.deliver(
        url,
        event.body,
        { timeoutMs: settings.callbackTimeoutMs, retries: settings.callbackRetries, backoffMs: settings.callbackRetryBackoffMs, maxBackoffMs: settings.callbackRetryMaxBackoffMs ?? undefined },
        this.stopping.signal,
        (attempt) => {
          event.attempts.push(attempt);
          this.log(`callback v2 template-event ${parsed.status} template=${templateId} -> ${maskUrl(url)} ${attempt.status ?? `error ${attempt.error ?? ''}`} (attempt ${attempt.attempt})`);
          this.changed();
        },
      );
      event.state = delivered ? 'delivered' : this.stopping.signal.aborted ? 'cancelled' : 'failed';
      this.changed();
    })();
    this.inFlightCallbacks.add(run);
    await run.finally(() => {
      this.inFlightCallbacks.delete(run);
      this.changed();
    });
    return structuredClone(event);
  }

  /** The template-events posted so far, oldest first. */
  templateEvents(): SimulatedTemplateEvent[] {
    return structuredClone(this.postedTemplateEvents);
  }

  message(messageId: string): SimulatedMessage | undefined {
    const found = this.acceptedMessages.find((message) => message.messageId === messageId);
    return found && structuredClone(found);
  }

  clearMessages(): void {
    this.acceptedMessages = [];
    this.changed();
  }

  settings(): SimulatorSettings {
    return { ...this.currentSettings };
  }

  updateSettings(patch: SettingsPatch): SimulatorSettings {
    this.currentSettings = { ...this.currentSettings, ...withoutUndefined(parseOrThrow(settingsSchema, patch, 'settings')) };
    this.changed();
    return this.settings();
  }

  /** Forgets requests, messages, failures and fates, and restores the apps and settings given at creation. */
  reset(): void {
    this.recordedRequests = [];
    this.acceptedMessages = [];
    this.pendingFailures = [];
    this.fateOverrides.clear();
    this.templateStatuses.clear();
    this.postedTemplateEvents = [];
    this.registeredApps = new Map(this.initialApps);
    this.currentSettings = { ...this.initialSettings };
    this.changed();
  }

  waitForRequests(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<RecordedRequest[]> {
    return this.waitFor(
      () => (this.recordedRequests.length >= count ? this.requests() : undefined),
      timeoutMs,
      () => `${count} requests (received ${this.recordedRequests.length})`,
    );
  }

  waitForMessages(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<SimulatedMessage[]> {
    return this.waitFor(
      () => (this.acceptedMessages.length >= count ? this.messages() : undefined),
      timeoutMs,
      () => `${count} accepted messages (accepted ${this.acceptedMessages.length})`,
    );
  }

  /** Resolves with the delivered callbacks (answered 2xx by the receiver) once there are at least `count`. */
  waitForCallbacksDelivered(count: number, timeoutMs = DEFAULT_WAIT_MS): Promise<SimulatedCallback[]> {
    return this.waitFor(
      () => {
        const delivered = this.callbacksIn('delivered');
        return delivered.length >= count ? structuredClone(delivered) : undefined;
      },
      timeoutMs,
      () => `${count} delivered callbacks (delivered ${this.callbacksIn('delivered').length})`,
    );
  }

  /** Resolves when no callback is waiting to be posted or retried. */
  waitForIdle(timeoutMs = DEFAULT_WAIT_MS): Promise<void> {
    return this.waitFor(
      () => (this.inFlightCallbacks.size === 0 ? true : undefined),
      timeoutMs,
      () => `callbacks to settle (${this.inFlightCallbacks.size} messages still posting)`,
    ).then(() => undefined);
  }

  private buildServer(): FastifyInstance {
    const server = Fastify({ logger: false, forceCloseConnections: true });
    server.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
      done(null, parseForm(body as string));
    });
    // Any other body reaches the send handlers as text, recorded, so a client sending the wrong encoding sees Gupshup's refusal.
    server.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));

    server.setErrorHandler((error: Error & { statusCode?: number }, _request, reply) => {
      const status = error instanceof ControlInputError ? 400 : (error.statusCode ?? 500);
      void reply.code(status).send({ status: 'error', message: error.message });
    });
    server.setNotFoundHandler((request, reply) => {
      if (!request.url.startsWith(CONTROL_PREFIX)) {
        const recorded = this.recordRequest(request);
        return this.answer(reply, recorded, 404, { status: 'error', message: 'Not Found' });
      }
      return reply.code(404).send({ status: 'error', message: `no simulator control route ${request.method} ${request.url}` });
    });

    server.post('/wa/api/v1/msg', (request, reply) => this.handleSend('msg', request, reply));
    server.post('/wa/api/v1/template/msg', (request, reply) => this.handleSend('template', request, reply));
    this.registerControlRoutes(server);
    return server;
  }

  private registerControlRoutes(server: FastifyInstance): void {
    type Params = Record<string, string>;
    const p = CONTROL_PREFIX;
    server.get(`${p}/requests`, async () => this.requests());
    server.delete(`${p}/requests`, async (_request, reply) => reply.code(204).send(this.clearRequests()));

    server.get(`${p}/apps`, async () => this.apps());
    server.put(`${p}/apps/:apikey`, async (request) => this.registerApp((request.params as Params).apikey, request.body as AppRegistration));
    server.delete(`${p}/apps/:apikey`, async (request, reply) => reply.code(this.removeApp((request.params as Params).apikey) ? 204 : 404).send());

    server.get(`${p}/fates`, async () => this.fates());
    server.put(`${p}/fates/:destination`, async (request) => this.setFate((request.params as Params).destination, request.body as FateRule));
    server.delete(`${p}/fates/:destination`, async (request, reply) =>
      reply.code(this.clearFate((request.params as Params).destination) ? 204 : 404).send(),
    );
    server.delete(`${p}/fates`, async (_request, reply) => reply.code(204).send(this.clearFates()));

    server.get(`${p}/failures`, async () => this.failures());
    server.post(`${p}/failures`, async (request, reply) => reply.code(201).send(this.injectFailure(request.body as FailureInjection)));
    server.delete(`${p}/failures`, async (_request, reply) => reply.code(204).send(this.clearFailures()));

    server.get(`${p}/messages`, async () => this.messages());
    server.get(`${p}/messages/:messageId`, async (request, reply) => {
      const found = this.message((request.params as Params).messageId);
      return found ?? reply.code(404).send({ status: 'error', message: 'no such message' });
    });
    server.delete(`${p}/messages`, async (_request, reply) => reply.code(204).send(this.clearMessages()));

    server.get(`${p}/template-events`, async () => this.templateEvents());
    server.put(`${p}/apps/:apikey/templates/:templateId`, async (request) => {
      const params = request.params as Params;
      return this.setTemplateStatus(params.apikey, params.templateId, request.body as TemplateStatusChange);
    });

    server.get(`${p}/settings`, async () => this.settings());
    server.patch(`${p}/settings`, async (request) => this.updateSettings(request.body as SettingsPatch));
    server.put(`${p}/settings`, async (request) => this.updateSettings(request.body as SettingsPatch));
    server.post(`${p}/reset`, async (_request, reply) => reply.code(204).send(this.reset()));
  }

  private async handleSend(endpoint: SendEndpoint, request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> {
    const recorded = this.recordRequest(request);
    const failure = this.takeFailure();
    if (failure?.delayMs !== undefined) await pause(failure.delayMs, this.stopping.signal);

    if (failure?.dropConnection || this.stopping.signal.aborted) {
      recorded.response = { dropped: true };
      this.logRequest(recorded, 'connection dropped');
      this.changed();
      reply.hijack();
      request.raw.socket.destroy();
      return undefined;
    }
    if (failure?.status !== undefined) return this.answer(reply, recorded, failure.status, injectedFailureBody(failure));

    const verdict = validateSendRequest(endpoint, request.headers.apikey, recorded.form, {
      findApp: (apiKey) => this.registeredApps.get(apiKey),
      acceptAnyKey: this.currentSettings.acceptAnyKey,
    });
    if (!verdict.ok) return this.answer(reply, recorded, verdict.status, verdict.body);

    const message = this.acceptMessage(endpoint, verdict);
    const callbacks = this.startCallbacks(message);
    // Early callbacks: the receiver hears about the message before the sender knows its id.
    if (message.fate.behaviour.callbackBeforeResponse) await callbacks;
    return this.answer(
      reply,
      recorded,
      this.currentSettings.successStatus,
      { status: 'submitted', messageId: message.messageId },
      this.currentSettings.responseContentType === 'text/html' ? 'text/html; charset=UTF-8' : undefined,
      `messageId=${message.messageId} fate=${describeFate(message.fate)}${message.callbackUrl ? '' : ' (no callback URL: callbacks not sent)'}`,
    );
  }

  private acceptMessage(endpoint: SendEndpoint, verdict: Extract<ReturnType<typeof validateSendRequest>, { ok: true }>): SimulatedMessage {
    const stored = this.registeredApps.get(verdict.apiKey);
    const app: StoredApp = stored ?? {
      source: verdict.source,
      srcName: verdict.srcName,
      appId: this.anyKeyAppId(verdict.apiKey),
    };
    const settings = this.currentSettings;
    const callbackFormat = app.callbackFormat ?? settings.callbackFormat;
    const callbackUrl = app.callbackUrl ?? settings.defaultCallbackUrl ?? undefined;
    const fate = this.fateFor(verdict.destination, endpoint === 'template' ? this.templateStatusOf(verdict.apiKey, verdict.template) : undefined);
    const messageId = randomUUID();
    const acceptedAtMs = Date.now();

    const context: CallbackMessageContext = {
      gupshupMessageId: messageId,
      whatsappMessageId: newWhatsAppMessageId(callbackFormat, verdict.destination, this.random),
      destination: verdict.destination,
      appName: app.srcName,
      appSource: app.source,
      appId: app.appId,
      kind: endpoint === 'template' ? 'template' : 'session',
    };
    const statuses = plannedStatuses(fate);
    const bodies = statuses.map((status, step) =>
      buildCallbackBody(callbackFormat, context, {
        status,
        occurredAtMs: acceptedAtMs + step * settings.eventTimeStepMs,
        omitGsId: fate.behaviour.omitGsId,
        failure: fate.failure,
        v3FailedStyle: settings.v3FailedStyle,
      }),
    );
    const posted = new Set<number>();
    const callbacks = emissionOrder(statuses.length, fate.behaviour, this.random).map((step, position): SimulatedCallback => {
      const duplicate = posted.has(step);
      posted.add(step);
      return {
        messageId,
        position,
        event: statuses[step],
        duplicate,
        format: callbackFormat,
        ...(callbackUrl ? { url: callbackUrl } : {}),
        body: bodies[step],
        state: callbackUrl ? 'pending' : 'no-callback-url',
        attempts: [],
      };
    });

    const message: SimulatedMessage = {
      messageId,
      whatsappMessageId: context.whatsappMessageId,
      endpoint,
      apiKey: maskApiKey(verdict.apiKey),
      appName: app.srcName,
      source: app.source,
      destination: verdict.destination,
      ...(verdict.message !== undefined ? { message: verdict.message } : {}),
      ...(verdict.template !== undefined ? { template: verdict.template } : {}),
      acceptedAt: new Date(acceptedAtMs).toISOString(),
      fate,
      ...(callbackUrl ? { callbackUrl } : {}),
      callbackFormat,
      callbacks,
    };
    this.acceptedMessages.push(message);
    if (this.acceptedMessages.length > MAX_RECORDS) this.acceptedMessages.shift();
    this.changed();
    return message;
  }

  private templateStatusOf(apiKey: string, template: unknown): SimulatedTemplateStatus | undefined {
    const id = (template as { id?: unknown } | undefined)?.id;
    return typeof id === 'string' ? this.templateStatuses.get(apiKey)?.get(id) : undefined;
  }

  /** A template Gupshup would refuse fails whatever the destination; otherwise the destination's fate. */
  private fateFor(destination: string, templateStatus?: SimulatedTemplateStatus): ResolvedFate {
    const refused = templateSendFailure(templateStatus);
    if (refused) return resolveFate({ final: 'failed', code: refused.code, reason: refused.reason, stage: 'async' }, this.currentSettings, 'override');
    const override = this.fateOverrides.get(destination);
    if (override) return resolveFate(override, this.currentSettings, 'override');
    if (this.options.fateRule) return resolveFate(this.options.fateRule(destination), this.currentSettings, 'rule');
    return resolveFate(defaultFateFor(destination), this.currentSettings, 'default');
  }

  /** Posts a message's callbacks one after the other, as Gupshup does: a slow receiver delays the later ones. */
  private startCallbacks(message: SimulatedMessage): Promise<void> {
    if (!message.callbackUrl) return Promise.resolve();
    const url = message.callbackUrl;
    const stop = this.stopping.signal;
    const run = (async () => {
      for (const callback of message.callbacks) {
        await pause(message.fate.behaviour.delayMs, stop);
        if (stop.aborted) {
          callback.state = 'cancelled';
          continue;
        }
        const settings = this.currentSettings;
        const delivered = await this.sender.deliver(
          url,
          callback.body,
          {
            timeoutMs: settings.callbackTimeoutMs,
            retries: settings.callbackRetries,
            backoffMs: settings.callbackRetryBackoffMs,
            maxBackoffMs: settings.callbackRetryMaxBackoffMs ?? undefined,
          },
          stop,
          (attempt) => {
            callback.attempts.push(attempt);
            this.logCallback(message, callback, attempt);
            this.changed();
          },
        );
        callback.state = delivered ? 'delivered' : stop.aborted ? 'cancelled' : 'failed';
        this.changed();
      }
    })();
    this.inFlightCallbacks.add(run);
    void run.finally(() => {
      this.inFlightCallbacks.delete(run);
      this.changed();
    });
    return run;
  }

  private takeFailure(): PendingFailure | undefined {
    const next = this.pendingFailures[0];
    if (!next) return undefined;
    next.count -= 1;
    if (next.count <= 0) this.pendingFailures.shift();
    this.changed();
    return next;
  }

  private recordRequest(request: FastifyRequest): RecordedRequest {
    const [path, search = ''] = request.url.split('?', 2);
    const body = request.body;
    const isForm = typeof body === 'object' && body !== null && !Array.isArray(body) && (request.headers['content-type'] ?? '').includes('x-www-form-urlencoded');
    const recorded: RecordedRequest = {
      sequence: ++this.requestSequence,
      receivedAt: new Date().toISOString(),
      method: request.method,
      path,
      query: Object.fromEntries(new URLSearchParams(search)),
      headers: Object.fromEntries(
        Object.entries(request.headers)
          .filter((entry): entry is [string, string | string[]] => entry[1] !== undefined)
          .map(([name, value]) => [name.toLowerCase(), Array.isArray(value) ? value.join(', ') : value]),
      ),
      form: isForm ? (body as Record<string, string>) : {},
      ...(!isForm && typeof body === 'string' && body !== '' ? { rawBody: body } : {}),
    };
    this.recordedRequests.push(recorded);
    if (this.recordedRequests.length > MAX_RECORDS) this.recordedRequests.shift();
    this.changed();
    return recorded;
  }

  private answer(
    reply: FastifyReply,
    recorded: RecordedRequest,
    status: number,
    body: unknown,
    contentType?: string,
    note?: string,
  ): FastifyReply {
    const text = typeof body === 'string' ? body : JSON.stringify(body);
    const type = contentType ?? (typeof body === 'string' && !looksLikeJson(body) ? 'text/plain; charset=utf-8' : 'application/json; charset=utf-8');
    recorded.response = { status, body: text, contentType: type };
    this.logRequest(recorded, `${status}${note ? ` ${note}` : ` ${text}`}`);
    this.changed();
    return reply.code(status).header('content-type', type).send(text);
  }

  private logRequest(recorded: RecordedRequest, outcome: string): void {
    const form = recorded.form;
    const fields = [
      `apikey=${maskApiKey(recorded.headers.apikey)}`,
      form.source !== undefined ? `source=${form.source}` : '',
      form['src.name'] !== undefined ? `src.name=${form['src.name']}` : '',
      form.destination !== undefined ? `destination=${form.destination}` : '',
    ].filter(Boolean);
    this.log(`request ${recorded.method} ${recorded.path} ${fields.join(' ')} -> ${outcome}`);
  }

  private logCallback(message: SimulatedMessage, callback: SimulatedCallback, attempt: CallbackAttempt): void {
    const answer = attempt.status !== undefined ? String(attempt.status) : `error ${attempt.error ?? ''}`;
    this.log(
      `callback ${callback.format} ${callback.event}${callback.duplicate ? ' (duplicate)' : ''} messageId=${message.messageId} ` +
        `destination=${message.destination} -> ${maskUrl(callback.url ?? '')} ${answer} (attempt ${attempt.attempt})`,
    );
  }

  private callbacksIn(state: CallbackState): SimulatedCallback[] {
    return this.acceptedMessages.flatMap((message) => message.callbacks.filter((callback) => callback.state === state));
  }

  private anyKeyAppId(apiKey: string): string {
    let appId = this.anyKeyAppIds.get(apiKey);
    if (!appId) {
      appId = randomUUID();
      this.anyKeyAppIds.set(apiKey, appId);
    }
    return appId;
  }

  private changed(): void {
    this.changes.emit('change');
  }

  /** Resolves as soon as `check` returns a value, re-checking on every state change; no polling, no fixed sleep. */
  private waitFor<T>(check: () => T | undefined, timeoutMs: number, describe: () => string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const onChange = () => {
        const value = check();
        if (value === undefined) return;
        cleanup();
        resolve(value);
      };
      const timer = setTimeout(() => {
        cleanup();
        reject(new Error(`timed out after ${timeoutMs} ms waiting for ${describe()}`));
      }, timeoutMs);
      const cleanup = () => {
        clearTimeout(timer);
        this.changes.off('change', onChange);
      };
      this.changes.on('change', onChange);
      onChange();
    });
  }
}

function parseForm(body: string): Record<string, string> {
  const form: Record<string, string> = {};
  for (const [key, value] of new URLSearchParams(body)) if (!Object.hasOwn(form, key)) form[key] = value;
  return form;
}

/** The error bodies Gupshup answers with (GUPSHUP.md §1.6), unless the injection brings its own. */
function injectedFailureBody(failure: PendingFailure): unknown {
  if (failure.body !== undefined) return failure.body;
  const status = failure.status ?? 500;
  if (status === 401) return { message: failure.message ?? 'Authentication Failed', status: 'error' };
  if (status === 400) return { message: failure.message ?? 'Invalid Request', status: 'error' };
  if (status === 429) return { status: 'error', message: failure.message ?? 'Too Many Requests' };
  if (status >= 500) return { status: 'error', message: failure.message ?? 'Internal server error. Please try again later' };
  return { status: 'error', message: failure.message ?? STATUS_CODES[status] ?? 'Error' };
}

function describeFate(fate: ResolvedFate): string {
  return fate.failure ? `failed(${fate.failure.code},${fate.failure.stage})` : fate.final;
}

function appView(apiKey: string, app: StoredApp): SimulatorAppView {
  return { apiKey: maskApiKey(apiKey), ...app };
}

function reachableHost(host: string): string {
  if (host === '0.0.0.0' || host === '') return '127.0.0.1';
  if (host === '::') return '[::1]';
  return host.includes(':') ? `[${host}]` : host;
}

function looksLikeJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function withoutUndefined<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, field]) => field !== undefined)) as T;
}
