import { Injectable } from '@nestjs/common';
import type { GupshupCredentials } from '../../../apps';
import { CredentialCipher } from '../../../apps/providers/credential-cipher';
import {
  buildGupshupSendRequest,
  mergeGupshupConfig,
  type GupshupCredentials as GupshupSendCredentials,
  type GupshupSendRequest,
} from '../../gupshup/send-request';
import type { ClaimedJob } from './dispatch-jobs';

/** Where the API_KEY of a request's `_config` is bound when encrypted: its app and request. */
export function overrideApiKeyContext(appId: string, requestId: string): string {
  return `${appId}:${requestId}:gupshup_whatsapp:_config.API_KEY`;
}

/**
 * The Gupshup requests of one app's claimed jobs: a request's `_config` override (decrypted) and
 * Gupshup override (parsed) are worked out once for all its messages, not once per message.
 */
export class RequestBuilder {
  private readonly perRequest = new Map<string, { credentials: GupshupSendCredentials; override?: Record<string, unknown> }>();

  constructor(
    private readonly stored: GupshupCredentials,
    private readonly cipher: CredentialCipher,
  ) {}

  /** Throws when the request's `_config.API_KEY` cannot be decrypted. */
  build(job: ClaimedJob): GupshupSendRequest {
    const { content } = job;
    let prepared = this.perRequest.get(job.requestId);
    if (!prepared) {
      const configOverride: Record<string, string> = {};
      if (content.source) configOverride.SOURCE = content.source;
      if (content.srcName) configOverride.SRC_NAME = content.srcName;
      if (content.apiKeyEncrypted) {
        configOverride.API_KEY = this.cipher.decrypt(content.apiKeyEncrypted, overrideApiKeyContext(job.appId, job.requestId));
      }
      prepared = {
        credentials: mergeGupshupConfig(this.stored, configOverride),
        override: content.overrideJson === null ? undefined : (JSON.parse(content.overrideJson) as Record<string, unknown>),
      };
      this.perRequest.set(job.requestId, prepared);
    }
    return buildGupshupSendRequest({
      credentials: prepared.credentials,
      destination: job.destination,
      text: content.text,
      override: prepared.override,
      // A template message: its template, filled for this recipient when the request was accepted.
      template: job.template,
    });
  }
}

/** Makes the RequestBuilder of one app's claimed jobs, from the app's stored credentials. */
@Injectable()
export class RequestBuilderFactory {
  constructor(private readonly cipher: CredentialCipher) {}

  forApp(credentials: GupshupCredentials): RequestBuilder {
    return new RequestBuilder(credentials, this.cipher);
  }
}
