import { Injectable } from '@nestjs/common';
import { InjectMetric, makeHistogramProvider } from '@willsoto/nestjs-prometheus';
import type { Histogram } from 'prom-client';

export const HTTP_REQUEST_DURATION = 'http_request_duration_seconds';

export const httpRequestDurationProvider = makeHistogramProvider({
  name: HTTP_REQUEST_DURATION,
  help: 'HTTP requests answered, by method, route pattern and status code, with how long they took',
  labelNames: ['method', 'route', 'status_code'],
  buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
});

/** Label sets kept at most: routes are patterns and methods and codes few, so this bounds only the unexpected. */
const MAX_LABELLED = 1000;

/** HTTP request durations, labelled by route pattern (never the raw URL) and status code. */
@Injectable()
export class HttpMetrics {
  /** The histogram of each label set: labelling hashes the label values, once per set here instead of once per request. */
  private readonly labelled = new Map<string, { observe(value: number): void }>();

  constructor(@InjectMetric(HTTP_REQUEST_DURATION) private readonly durations: Histogram<'method' | 'route' | 'status_code'>) {}

  observe(request: { method: string; route: string; statusCode: number; durationSeconds: number }): void {
    const key = `${request.method} ${request.statusCode} ${request.route}`;
    let histogram = this.labelled.get(key);
    if (!histogram) {
      histogram = this.durations.labels({ method: request.method, route: request.route, status_code: String(request.statusCode) });
      if (this.labelled.size < MAX_LABELLED) this.labelled.set(key, histogram);
    }
    histogram.observe(request.durationSeconds);
  }
}
