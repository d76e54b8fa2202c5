import { Controller, Get, Header, HttpStatus, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { AdminApi } from '../../../apps/admin/admin-api.decorator';
import { wholeNumberParam } from '../../../common/input-schemas';
import { ApiErrorResponses } from '../../../common/openapi';
import { Database } from '../../../database/database';
import { listParkedCallbacks, MAX_SHOWN_BODY_DEPTH, type ParkedCallbackListing } from './parked-callbacks';

const DEFAULT_LIMIT = 50;
const MAX_LIMIT = 500;

export const listParkedCallbacksQuerySchema = z.strictObject({
  appId: z
    .uuid({ error: 'must be an app id (a UUID), as listed by GET /admin/apps' })
    // App ids are stored in lowercase; the same UUID in capitals is the same app.
    .transform((id) => id.toLowerCase())
    .optional()
    .meta({ description: "Only this app's callbacks" }),
  state: z
    .enum(['waiting', 'invalid', 'ignored'])
    .optional()
    .meta({
      description:
        'waiting: for a message not known (yet); invalid: a body that is no readable callback; ignored: a callback of a kind not tracked (listed only when asked for)',
    }),
  limit: wholeNumberParam(1, MAX_LIMIT).optional().meta({ description: `Rows per page; ${DEFAULT_LIMIT} when left out` }),
  cursor: z
    .string({ error: 'must be the nextCursor of a previous page' })
    .regex(/^\d{1,18}$/, { error: 'must be the nextCursor of a previous page' })
    .optional()
    .meta({ description: 'The nextCursor of the previous page' }),
});

const parkedCallbackSchema = z
  .object({
    id: z.string(),
    appId: z.string(),
    state: z.enum(['waiting', 'invalid', 'ignored']),
    format: z.string().nullable().meta({ description: 'v2 or v3, for a waiting report' }),
    providerStatus: z.string().nullable(),
    gupshupMessageId: z.string().nullable(),
    whatsappMessageId: z.string().nullable(),
    destination: z.string().nullable(),
    problem: z.string().nullable().meta({ description: 'Why an invalid callback could not be read' }),
    body: z.unknown().meta({
      description: `The callback body as received: its JSON, or its text when it is not JSON or nests deeper than ${MAX_SHOWN_BODY_DEPTH} levels`,
    }),
    receivedAt: z.iso.datetime(),
    parkedAt: z.iso.datetime(),
  })
  .meta({ id: 'ParkedCallback' });

export const parkedCallbackPageSchema = z
  .object({
    data: z.array(parkedCallbackSchema).meta({ description: 'Newest first' }),
    nextCursor: z.string().nullable().meta({ description: 'Pass it as `cursor` for the next page; null on the last page' }),
  })
  .meta({ id: 'ParkedCallbackPage' });

@ApiTags('Admin')
@AdminApi()
@Controller('admin/parked-callbacks')
export class ParkedCallbacksController {
  constructor(private readonly db: Database) {}

  @Get()
  // Bodies are whatever a sender posted: shown as JSON data, never to be sniffed into markup.
  @Header('X-Content-Type-Options', 'nosniff')
  @ApiOperation({
    summary: 'Gupshup callbacks kept without being applied, newest first',
    description:
      'waiting: a delivery report for a Gupshup or WhatsApp id no message of the app has (yet); it is applied by itself when the message is sent. ' +
      'invalid: a JSON body that is no Gupshup callback this service can read. Each row holds the body as received, as JSON data (served with X-Content-Type-Options: nosniff; never render it as markup). ' +
      'Rows older than RAW_CALLBACK_RETENTION_DAYS are removed.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'A page of parked callbacks', standardSchema: parkedCallbackPageSchema })
  @ApiErrorResponses({ 400: 'A parameter is invalid; the message says which and what it accepts' })
  async list(
    @Query({ schema: listParkedCallbacksQuerySchema }) query: z.output<typeof listParkedCallbacksQuerySchema>,
  ): Promise<{ data: ParkedCallbackListing[]; nextCursor: string | null }> {
    const limit = query.limit ?? DEFAULT_LIMIT;
    const data = await listParkedCallbacks(this.db, { appId: query.appId, state: query.state, beforeId: query.cursor, limit });
    return { data, nextCursor: data.length === limit ? data[data.length - 1].id : null };
  }
}
