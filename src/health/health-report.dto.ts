import { z } from 'zod';

/** GET /health's answer, 200 and 503 alike. */
export const healthReportSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    database: z.enum(['up', 'down']),
    projectionLag: z
      .record(z.string(), z.object({ eventsBehind: z.number().int(), secondsBehind: z.number() }))
      .meta({ description: 'Per subscription: events not applied yet, and how old the oldest of them is' }),
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
