import type { z } from 'zod';
import { text } from '../../common/input-schemas';
import { InvalidQueryError, validateInputSync } from '../../common/validation';

/** An app's id, as CreateWhatsAppAppCommand returns it: text PostgreSQL can compare. */
export const appIdSchema = text({ max: 512, what: 'the id of an app, as CreateWhatsAppAppCommand returns it' });

/**
 * A query's input checked with the schema of the REST route that answers the same question, so a
 * filter passed through the QueryBus by another module is refused as the same query parameter
 * would be; `name` is the query's field, put in front of each problem's path.
 */
export function checkedQueryInput<S extends z.ZodType>(schema: S, value: unknown, name: string): z.output<S> {
  const checked = validateInputSync(schema as z.ZodType<z.output<S>>, value, { kind: 'value', name });
  if (!checked.ok) throw new InvalidQueryError(checked.problems);
  return checked.value;
}
