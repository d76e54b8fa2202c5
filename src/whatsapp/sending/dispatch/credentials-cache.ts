import { Injectable } from '@nestjs/common';
import { GupshupProviderConfigService, type GupshupCredentials } from '../../../apps';

/** How long decrypted credentials are reused: a change of configuration takes effect within this. */
export const CREDENTIALS_TTL_MS = 5000;

interface Entry {
  expiresAt: number;
  value: Promise<GupshupCredentials | null>;
}

/**
 * Each app's decrypted gupshup_whatsapp credentials for the dispatcher, kept briefly so that a
 * batch of a thousand messages reads and decrypts them once, not a thousand times.
 */
@Injectable()
export class ProviderCredentialsCache {
  private readonly entries = new Map<string, Entry>();

  constructor(private readonly providerConfig: GupshupProviderConfigService) {}

  get(appId: string): Promise<GupshupCredentials | null> {
    const now = Date.now();
    const cached = this.entries.get(appId);
    if (cached && cached.expiresAt > now) return cached.value;
    const value = this.providerConfig.getCredentials(appId);
    this.entries.set(appId, { expiresAt: now + CREDENTIALS_TTL_MS, value });
    // A failed read is not remembered: the next job asks again.
    value.catch(() => {
      if (this.entries.get(appId)?.value === value) this.entries.delete(appId);
    });
    return value;
  }
}
