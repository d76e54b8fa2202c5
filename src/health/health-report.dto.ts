import { z } from 'zod';

/** GET /health's answer, 200 and 503 alike. */
export const healthReportSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    database: z.enum(['up', 'down']),
    projectionLag: z
      .record(
        z.string(),
        z.object({
          eventsBehind: z.number().int(),
          secondsBehind: z.number(),
          failing: z
            .object({ since: z.iso.datetime(), attempts: z.number().int(), error: z.string() })
            .optional()
            .meta({ description: "Present while this instance's batches of the subscription fail one after the other: since when, how many tries, the last error" }),
        }),
      )
      .meta({ description: 'Per subscription: events not applied yet, how old the oldest of them is, and whether its batches are failing here' }),
    readReplica: z
      .object({ status: z.enum(['up', 'down']), lagSeconds: z.number().optional(), error: z.string().optional() })
      .optional()
      .meta({ description: 'With DATABASE_READ_URL: whether the replica the query routes read answers, and how far its replay is behind' }),
    subscriptionPartitions: z
      .record(z.string(), z.array(z.number().int()))
      .optional()
      .meta({
        description:
          'With SUBSCRIPTION_PARTITIONS > 1, on an instance that runs subscriptions: per subscription cut in parts, the parts (1 to SUBSCRIPTION_PARTITIONS) this instance runs now',
      }),
    error: z.string().optional().meta({ description: 'Why the service is not healthy' }),
  })
  .meta({ id: 'HealthReport' });
