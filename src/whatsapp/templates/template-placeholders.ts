/**
 * Template parameters are text with placeholders: `{{data.PATH}}` reads the send request's `data`,
 * `{{recipient.FIELD}}` the recipient's profile (dot paths into nested objects). Pure functions.
 */

export type PlaceholderSource = 'data' | 'recipient';

export interface Placeholder {
  source: PlaceholderSource;
  /** The dot path after `data.` or `recipient.`. */
  path: string;
  /** As written, e.g. `{{data.order.id}}`. */
  text: string;
}

const PLACEHOLDER = /\{\{\s*([^{}]*?)\s*\}\}/g;
const PATH_SEGMENT = /^[^.\s]+$/;

/** The placeholders of a parameter, or the problems with the ones it has (an unknown source, an empty path). */
export function placeholdersOf(template: string): { placeholders: Placeholder[]; problems: string[] } {
  const placeholders: Placeholder[] = [];
  const problems: string[] = [];
  for (const match of template.matchAll(PLACEHOLDER)) {
    const [text, inner] = match;
    const dot = inner.indexOf('.');
    const source = dot < 0 ? inner : inner.slice(0, dot);
    const path = dot < 0 ? '' : inner.slice(dot + 1);
    if (source !== 'data' && source !== 'recipient') {
      problems.push(`${text} reads neither data nor recipient: write {{data.PATH}} or {{recipient.FIELD}}`);
    } else if (path === '' || !path.split('.').every((segment) => PATH_SEGMENT.test(segment))) {
      problems.push(`${text} needs a path of names separated by dots, e.g. {{${source}.${source === 'data' ? 'orderId' : 'firstName'}}}`);
    } else {
      placeholders.push({ source, path, text });
    }
  }
  // Braces left once the placeholders are taken out: one opened and not closed, or the reverse.
  const rest = template.replace(PLACEHOLDER, '');
  if (rest.includes('{{') || rest.includes('}}')) {
    problems.push(`"${template}" has a {{ without its }} (or the reverse): write placeholders whole, e.g. {{data.orderId}}`);
  }
  return { placeholders, problems };
}

/** The value at a dot path, or undefined when some step is missing. Own properties only. */
function valueAt(root: unknown, path: string): unknown {
  let value = root;
  for (const segment of path.split('.')) {
    if (typeof value !== 'object' || value === null || !Object.hasOwn(value, segment)) return undefined;
    value = (value as Record<string, unknown>)[segment];
  }
  return value;
}

/** A value a parameter can show: text that is not blank, a number or a boolean. */
function shownValue(value: unknown): string | undefined {
  if (typeof value === 'string') return value.trim() === '' ? undefined : value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  if (typeof value === 'boolean') return String(value);
  return undefined;
}

export type RenderOutcome = { ok: true; text: string } | { ok: false; missing: Placeholder[] };

/**
 * Fills a parameter's placeholders. A placeholder whose value is absent, null, blank text, an
 * object or a list resolves to nothing: it is reported in `missing`, by source.
 */
export function renderParameter(template: string, values: Record<PlaceholderSource, unknown>): RenderOutcome {
  const missing: Placeholder[] = [];
  const text = template.replace(PLACEHOLDER, (whole: string, inner: string) => {
    const dot = inner.indexOf('.');
    const source = inner.slice(0, dot);
    // Registration refuses any other placeholder; one that got through anyway is left as written.
    if (source !== 'data' && source !== 'recipient') return whole;
    const path = inner.slice(dot + 1);
    const shown = shownValue(valueAt(values[source], path));
    if (shown === undefined) missing.push({ source, path, text: whole });
    return shown ?? '';
  });
  return missing.length > 0 ? { ok: false, missing } : { ok: true, text };
}

/** The `data` placeholders of these parameters that resolve to nothing, each named once. */
export function missingDataPlaceholders(templates: readonly string[], data: Record<string, unknown>): Placeholder[] {
  const missing = new Map<string, Placeholder>();
  for (const template of templates) {
    for (const placeholder of placeholdersOf(template).placeholders) {
      if (placeholder.source !== 'data' || missing.has(placeholder.path)) continue;
      if (shownValue(valueAt(data, placeholder.path)) === undefined) missing.set(placeholder.path, placeholder);
    }
  }
  return [...missing.values()];
}
