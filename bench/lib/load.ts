import autocannon from 'autocannon';

export interface LoadRequest {
  method: 'GET' | 'POST';
  path: string;
  headers?: Record<string, string>;
  body?: string;
}

export interface LoadOptions {
  url: string;
  connections: number;
  /** Either a fixed number of requests (each made once, in order) ... */
  amount?: number;
  /** ... or a duration in seconds. */
  durationSeconds?: number;
  /** The i-th request of the run. */
  request(index: number): LoadRequest;
  /** Called for each 2xx answer with the index of its request. */
  acknowledged?(index: number): void;
}

export interface LoadResult {
  /** 2xx answers per second over the run. */
  rate: number;
  ok: number;
  failed: number;
  errors: number;
  p50: number;
  p99: number;
  seconds: number;
}

/** Drives load over loopback with autocannon, one request per connection at a time. */
export async function runLoad(options: LoadOptions): Promise<LoadResult> {
  let next = 0;
  const result = await autocannon({
    url: options.url,
    connections: options.connections,
    ...(options.amount !== undefined ? { amount: options.amount } : { duration: options.durationSeconds ?? 10 }),
    timeout: 30,
    requests: [
      {
        // Each connection has one request in flight: its context tells which one was answered.
        setupRequest: (request, context) => {
          const index = next++;
          (context as { index?: number }).index = index;
          const wanted = options.request(index);
          return { ...request, method: wanted.method, path: wanted.path, headers: { ...wanted.headers }, body: wanted.body };
        },
        onResponse: (status, _body, context) => {
          const index = (context as { index?: number }).index;
          if (status >= 200 && status < 300 && index !== undefined) options.acknowledged?.(index);
        },
      },
    ],
  });
  const seconds = (result.finish.getTime() - result.start.getTime()) / 1000;
  return {
    rate: result['2xx'] / seconds,
    ok: result['2xx'],
    failed: result.non2xx,
    errors: result.errors + result.timeouts,
    p50: result.latency.p50,
    p99: result.latency.p99,
    seconds,
  };
}
