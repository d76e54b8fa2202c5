import { Controller, Get, HttpStatus, Req, Res } from '@nestjs/common';
import { ApiOperation, ApiProduces, ApiResponse, ApiTags } from '@nestjs/swagger';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { AppApiForwarding } from './app-api-forwarding';
import { DashboardApi, sessionOf } from './dashboard-session.guard';
import { DashboardLiveFeed } from './live-feed';

/** A comment line now and then keeps proxies from closing a quiet stream. */
const KEEPALIVE_MS = 20_000;

const EVENT_STREAM_DESCRIPTION =
  'Server-sent events: `ready` once listening, `messages` (data: a JSON array of changed messages, as GET /v3/messages/{id} shows them) ' +
  'and `resync` (changes may have been missed: read the view again). Open until the page closes it.';

/** The dashboard's live updates, as server-sent events. */
@ApiTags('Dashboard')
@DashboardApi()
@Controller('dashboard/api/events')
export class DashboardLiveEventsController {
  constructor(
    private readonly feed: DashboardLiveFeed,
    private readonly forwarding: AppApiForwarding,
  ) {}

  @Get()
  @ApiProduces('text/event-stream')
  @ApiOperation({ summary: "The session's app's messages as their statuses change, as server-sent events" })
  @ApiResponse({ status: HttpStatus.OK, description: EVENT_STREAM_DESCRIPTION, content: { 'text/event-stream': { schema: { type: 'string' } } } })
  async stream(@Req() request: FastifyRequest, @Res() reply: FastifyReply): Promise<void> {
    const app = await this.forwarding.appOf(sessionOf(request));
    await this.feed.ensureListening();
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-accel-buffering': 'no',
      'x-request-id': String(request.id),
    });
    raw.write(`retry: 2000\nevent: ready\ndata: {}\n\n`);
    const unsubscribe = this.feed.subscribe(app.id, (event, data) => raw.write(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`));
    const keepalive = setInterval(() => raw.write(': keepalive\n\n'), KEEPALIVE_MS);
    keepalive.unref();
    const close = () => {
      clearInterval(keepalive);
      unsubscribe();
      forgetOnShutdown();
      if (!raw.writableEnded) raw.end();
    };
    // A stream stays open: the service ends it when it stops, or it would wait for the browser.
    const forgetOnShutdown = this.feed.onShutdown(close);
    request.raw.once('close', close);
  }
}
