import { createHash } from 'node:crypto';

export const GUPSHUP_PROVIDER = 'gupshup_whatsapp';
export const GUPSHUP_CHANNEL = 'whatsapp';
export const GUPSHUP_CONFIG_KEYS = ['API_KEY', 'SOURCE', 'SRC_NAME'] as const;
export type GupshupConfigKey = (typeof GUPSHUP_CONFIG_KEYS)[number];

/** What a secret is shown as, anywhere: never more than its last 4 characters. */
export function maskSecret(lastFour: string): string {
  return `****${lastFour}`;
}

/** Names an API key without revealing it: its last 4 characters and the start of its SHA-256. */
export function apiKeyFingerprint(apiKey: string): string {
  return `${maskSecret(apiKey.slice(-4))} sha256:${createHash('sha256').update(apiKey).digest('hex').slice(0, 12)}`;
}

/** What is stored now, as far as the rules need it (the API key only through its last 4 characters). */
export interface StoredGupshupConfig {
  hasApiKey: boolean;
  apiKeyLast4: string | null;
  source: string | null;
  srcName: string | null;
}

export interface GupshupConfigInput {
  enabled: boolean;
  config?: Partial<Record<GupshupConfigKey, string>>;
}

/** The configuration to store: `apiKey` undefined keeps the stored key. */
export interface ResolvedGupshupConfig {
  enabled: boolean;
  apiKey: string | undefined;
  source: string | null;
  srcName: string | null;
}

const API_KEY_MIN = 8;
const API_KEY_MAX = 512;
const SRC_NAME_MAX = 200;
const SOURCE_RULE = 'config.SOURCE must be the WhatsApp business number as digits, 8 to 15 of them, a leading + allowed (e.g. 917834811114)';

/**
 * Applies a PUT to the stored configuration: keys not sent are kept, `enabled: true` needs all
 * three keys (sent now or stored before). Every problem is reported in one message; the API key's
 * value is never part of a message.
 */
export function resolveGupshupConfig(input: GupshupConfigInput, stored: StoredGupshupConfig | null): { value?: ResolvedGupshupConfig; error?: string } {
  const sent = input.config ?? {};
  const problems: string[] = [];
  const empty = new Set<GupshupConfigKey>();
  for (const key of GUPSHUP_CONFIG_KEYS) {
    if (sent[key] !== undefined && sent[key].trim() === '') empty.add(key);
  }

  let apiKey: string | undefined;
  const sentKey = sent.API_KEY?.trim();
  if (sentKey && sentKey.startsWith('****')) {
    // The masked form a GET returned, sent back unchanged: it means "keep the stored key".
    if (!(stored?.apiKeyLast4 && sentKey === maskSecret(stored.apiKeyLast4))) {
      problems.push('config.API_KEY looks masked (****...): send the full Gupshup API key, or leave API_KEY out to keep the stored one');
    }
  } else if (sentKey) {
    if (sentKey.length < API_KEY_MIN || sentKey.length > API_KEY_MAX || /\s/.test(sentKey)) {
      problems.push(`config.API_KEY must be ${API_KEY_MIN} to ${API_KEY_MAX} characters without spaces: the API key of your Gupshup account`);
    } else {
      apiKey = sentKey;
    }
  }

  let source = stored?.source ?? null;
  const sentSource = sent.SOURCE?.trim();
  if (sentSource) {
    const digits = sentSource.replace(/^\+/, '');
    if (/^\d{8,15}$/.test(digits)) source = digits;
    else problems.push(SOURCE_RULE);
  }

  let srcName = stored?.srcName ?? null;
  const sentSrcName = sent.SRC_NAME?.trim();
  if (sentSrcName) {
    // eslint-disable-next-line no-control-regex
    if (sentSrcName.length > SRC_NAME_MAX || /[\u0000-\u001f\u007f]/.test(sentSrcName)) {
      problems.push(`config.SRC_NAME must be at most ${SRC_NAME_MAX} characters without control characters: the Gupshup app name (e.g. DemoAPI)`);
    } else {
      srcName = sentSrcName;
    }
  }

  if (input.enabled) {
    const have = { API_KEY: Boolean(sentKey) || Boolean(stored?.hasApiKey), SOURCE: Boolean(source) || Boolean(sentSource), SRC_NAME: Boolean(srcName) || Boolean(sentSrcName) };
    const missing = GUPSHUP_CONFIG_KEYS.filter((key) => empty.has(key) || !have[key]);
    if (missing.length) {
      problems.unshift(
        `Enabling ${GUPSHUP_PROVIDER} needs config.API_KEY, config.SOURCE and config.SRC_NAME; missing or empty: ${missing.join(', ')}`,
      );
    }
  } else if (empty.size) {
    problems.unshift(`${[...empty].map((key) => `config.${key}`).join(', ')} must not be empty: leave a key out to keep its stored value`);
  }

  if (problems.length) return { error: problems.join('; ') };
  return { value: { enabled: input.enabled, apiKey, source, srcName } };
}
