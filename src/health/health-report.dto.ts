import { z } from 'zod';

/** GET /health's answer, 200 and 503 alike. */
export const healthReportSchema = z
  .object({
    status: z.enum(['ok', 'error', 'shutting_down']),
    database: z.enum(['up', 'down']),
    projectionLag: z
      .record(z.string(), z.object({ eventsBehind: z.number().int(), secondsBehind: z.number() }))
      .meta({ description: 'Per subscription: events not applied yet, and how old the oldest of them is' }),
    error: z.string().optional().meta({ description: 'Why the service is not healthy' }),
  })
  .meta({ id: 'HealthReport' });
