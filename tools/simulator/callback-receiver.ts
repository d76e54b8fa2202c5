/**
 * A minimal HTTP endpoint that collects the callbacks the simulator posts, for tests and local trials
 * of the simulator without the full service.
 */
import { EventEmitter } from 'node:events';
import type { AddressInfo } from 'node:net';
import Fastify from 'fastify';

export interface ReceivedCallback {
  receivedAt: number;
  path: string;
  headers: Record<string, string | string[] | undefined>;
  body: unknown;
  /** The status this receiver answered. */
  answeredStatus: number;
}

export interface CallbackReceiverOptions {
  /** Status to answer for the n-th request (1-based); 200 by default. */
  statusFor?: (requestNumber: number, body: unknown) => number;
}

export interface CallbackReceiver {
  url: string;
  received(): ReceivedCallback[];
  /** Resolves once at least `count` callbacks arrived (answered 2xx or not). */
  waitFor(count: number, timeoutMs?: number): Promise<ReceivedCallback[]>;
  close(): Promise<void>;
}

export async function startCallbackReceiver(options: CallbackReceiverOptions = {}, path = '/callbacks'): Promise<CallbackReceiver> {
  const received: ReceivedCallback[] = [];
  const arrivals = new EventEmitter();
  arrivals.setMaxListeners(0);
  const server = Fastify({ logger: false, forceCloseConnections: true });

  server.post(path, async (request, reply) => {
    const status = options.statusFor?.(received.length + 1, request.body) ?? 200;
    received.push({ receivedAt: Date.now(), path: request.url, headers: { ...request.headers }, body: request.body, answeredStatus: status });
    arrivals.emit('arrival');
    // Gupshup asks for an empty 2xx body.
    return reply.code(status).send();
  });

  await server.listen({ port: 0, host: '127.0.0.1' });
  const { port } = server.server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}${path}`,
    received: () => [...received],
    waitFor: (count, timeoutMs = 10_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (received.length < count) return;
          cleanup();
          resolve([...received]);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`timed out after ${timeoutMs} ms waiting for ${count} callbacks (received ${received.length})`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          arrivals.off('arrival', check);
        };
        arrivals.on('arrival', check);
        check();
      }),
    close: async () => {
      await server.close();
    },
  };
}
