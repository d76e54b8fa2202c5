import { Inject, Injectable, Logger, Optional, type OnModuleInit } from '@nestjs/common';
import { HttpAdapterHost } from '@nestjs/core';
import fastifyStatic from '@fastify/static';
import type { FastifyInstance, FastifyReply } from 'fastify';
import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { MODULE_ROUTING, mountedPath, type ModuleRouting } from '../module/module-options';

/**
 * Where the build (tools/build-dashboard.mjs) puts the browser code: dist/web, found from the
 * compiled code (dist/src/dashboard) and from the sources (src/dashboard, in tests).
 */
export function dashboardAssetsDir(): string | undefined {
  return [resolve(__dirname, '..', '..', 'dist', 'web'), resolve(__dirname, '..', '..', 'web')]
    .filter((dir) => basename(dirname(dir)) === 'dist') // never web/ itself: those are the sources
    .find((dir) => existsSync(join(dir, 'index.html')));
}

/** Only the service's own files run; user and callback text is only ever put on the page as text. */
const PAGE_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  'referrer-policy': 'no-referrer',
  'cache-control': 'no-store',
};

/**
 * GET /dashboard: the page (one HTML file; the app inside it routes by the URL's #fragment) and
 * its hashed, immutable assets under /dashboard/assets/. Served by the service itself, from
 * files built into dist/web; nothing is fetched from elsewhere. Inside a host application these
 * routes are the module's like the others: none with `http: false`, under `routePrefix` otherwise
 * (the page's links to its assets follow; its code finds its API next to the page's own path).
 */
@Injectable()
export class DashboardPages implements OnModuleInit {
  private readonly logger = new Logger('Dashboard');

  constructor(
    private readonly adapterHost: HttpAdapterHost,
    @Optional() @Inject(MODULE_ROUTING) private readonly routing?: ModuleRouting,
  ) {}

  onModuleInit(): void {
    if (this.routing && !this.routing.http) return;
    const fastify = this.adapterHost.httpAdapter?.getInstance<FastifyInstance>();
    if (!fastify) return;
    const base = mountedPath(this.routing, '/dashboard');
    const dir = dashboardAssetsDir();
    // The build links its assets at /dashboard/assets/ (tools/build-dashboard.mjs).
    const page = dir ? Buffer.from(readFileSync(join(dir, 'index.html'), 'utf8').replaceAll('"/dashboard/assets/', `"${base}/assets/`)) : undefined;
    // The package ships the build; only a checkout of the sources can lack it.
    const missing = this.routing
      ? 'The dashboard is missing from this installation of the whatsapp-notify package (no dist/web/index.html): reinstall the package, or build it from its sources with npm run build.'
      : 'The dashboard is not built: run npm run build (npm start builds it too), then restart the service.';
    if (!page) this.logger.warn(`${missing} ${base} says so until then.`);
    const sendPage = (reply: FastifyReply) => {
      if (!page) return reply.code(503).header('content-type', 'text/plain; charset=utf-8').send(missing);
      return reply.headers(PAGE_HEADERS).header('content-type', 'text/html; charset=utf-8').send(page);
    };
    fastify.get(base, (_request, reply) => sendPage(reply));
    fastify.get(`${base}/`, (_request, reply) => sendPage(reply));
    if (dir) {
      void fastify.register(fastifyStatic, {
        root: join(dir, 'assets'),
        prefix: `${base}/assets/`,
        decorateReply: false,
        // File names carry a hash of their content.
        immutable: true,
        maxAge: '365d',
        setHeaders: (response) => response.header('x-content-type-options', 'nosniff'),
      });
    }
  }
}
