import { Module } from '@nestjs/common';
import { AppsModule } from '../../apps';
import { WhatsAppSendingModule } from '../sending';
import { ConsentFromCallbacks } from './consent-from-callbacks.subscription';
import { ConsentMetrics, consentMetricProviders } from './consent.metrics';
import { ConsentPolicy } from './consent-policy';
import { ConsentSendGate } from './consent-send-gate';
import { SuppressionsController } from './suppressions.controller';
import { SuppressionsService } from './suppressions.service';

/**
 * Consent: suppressed numbers (opt-outs, numbers not on WhatsApp, operators' own) and the
 * 24-hour session window, learnt from Gupshup's callbacks and the suppressions API, and enforced
 * by a send gate when a message is accepted and again right before it is sent.
 */
@Module({
  imports: [AppsModule, WhatsAppSendingModule],
  controllers: [SuppressionsController],
  providers: [ConsentPolicy, ConsentSendGate, ConsentFromCallbacks, SuppressionsService, ConsentMetrics, ...consentMetricProviders],
})
export class ConsentModule {}
