import { createServer, type IncomingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import request from 'supertest';
import { Webhook } from 'standardwebhooks';
import type { TestApp } from '../support/test-app';

export interface ReceivedWebhook {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  payload: { type: string; timestamp: string; data: Record<string, unknown> };
  /** The status the receiver answered with. */
  answeredWith: number;
  receivedAt: number;
}

/** What the receiver answers a request with: a status, after an optional wait (a promise to hold it). */
export type ReceiverBehaviour = (received: ReceivedWebhook, nthOfItsId: number) => { status: number; hold?: Promise<void> };

/** A customer's system on loopback: records every request and answers as told, per path. */
export class WebhookReceiver {
  readonly received: ReceivedWebhook[] = [];
  private readonly behaviours = new Map<string, ReceiverBehaviour>();
  private readonly open = new Set<ServerResponse>();
  private server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      const received: ReceivedWebhook = {
        path: req.url ?? '/',
        headers: req.headers,
        body,
        payload: JSON.parse(body) as ReceivedWebhook['payload'],
        answeredWith: 0,
        receivedAt: Date.now(),
      };
      const nth = this.received.filter((each) => each.headers['webhook-id'] === req.headers['webhook-id']).length + 1;
      this.received.push(received);
      const behaviour = this.behaviours.get(received.path) ?? (() => ({ status: 200 }));
      const { status, hold } = behaviour(received, nth);
      this.open.add(res);
      void Promise.resolve(hold).then(() => {
        received.answeredWith = status;
        this.open.delete(res);
        res.writeHead(status, { 'content-type': 'text/plain' }).end(status < 300 ? 'ok' : 'not now');
      });
    });
  });

  url = '';

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string, behaviour: ReceiverBehaviour): void {
    this.behaviours.set(path, behaviour);
  }

  at(path: string): ReceivedWebhook[] {
    return this.received.filter((each) => each.path === path);
  }

  /** Requests answered 2xx at `path`, in the order they arrived. */
  acknowledged(path: string): ReceivedWebhook[] {
    return this.at(path).filter((each) => each.answeredWith >= 200 && each.answeredWith < 300);
  }

  async close(): Promise<void> {
    for (const res of this.open) res.destroy();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** Whether the standardwebhooks package accepts the request as signed with `secret`. */
export function verifies(secret: string, received: ReceivedWebhook): boolean {
  try {
    new Webhook(secret).verify(received.body, {
      'webhook-id': String(received.headers['webhook-id']),
      'webhook-timestamp': String(received.headers['webhook-timestamp']),
      'webhook-signature': String(received.headers['webhook-signature']),
    });
    return true;
  } catch {
    return false;
  }
}

export interface CreatedEndpoint {
  id: string;
  secret: string;
  url: string;
  previousSecretExpiresAt: string | null;
}

export async function createEndpoint(t: TestApp | string, headers: Record<string, string>, body: Record<string, unknown>): Promise<CreatedEndpoint> {
  const url = typeof t === 'string' ? t : t.url;
  const res = await request(url).post('/v3/webhooks').set(headers).send(body).expect(201);
  return res.body as CreatedEndpoint;
}

export interface ListedDelivery {
  id: string;
  type: string;
  messageId: string | null;
  status: string;
  attempts: { at: string; statusCode: number | null; durationMs: number; error: string | null }[];
}

export async function deliveriesOf(t: TestApp | string, headers: Record<string, string>, endpointId: string, query: Record<string, string> = {}): Promise<ListedDelivery[]> {
  const url = typeof t === 'string' ? t : t.url;
  const res = await request(url).get(`/v3/webhooks/${endpointId}/deliveries`).query({ limit: '100', ...query }).set(headers).expect(200);
  return (res.body as { data: ListedDelivery[] }).data;
}

/** A promise with its resolve, to hold a receiver's answers until the test lets them go. */
export function gate(): { promise: Promise<void>; open: () => void } {
  let open!: () => void;
  const promise = new Promise<void>((resolve) => (open = resolve));
  return { promise, open };
}
