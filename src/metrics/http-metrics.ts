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

/** HTTP request durations, labelled by route pattern (never the raw URL) and status code. */
@Injectable()
export class HttpMetrics {
  constructor(@InjectMetric(HTTP_REQUEST_DURATION) private readonly durations: Histogram<'method' | 'route' | 'status_code'>) {}

  observe(request: { method: string; route: string; statusCode: number; durationSeconds: number }): void {
    this.durations.observe({ method: request.method, route: request.route, status_code: String(request.statusCode) }, request.durationSeconds);
  }
}
