import { Controller, HttpCode, HttpStatus, NotFoundException, Post } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { z } from 'zod';
import { CurrentApp, GupshupProviderConfigService, notConfiguredMessage, type AuthenticatedApp, type ProviderPause } from '../../../apps';
import { AppApi } from '../../../apps/auth/app-api.decorator';
import { ApiErrorResponses } from '../../../common/openapi';
import { DispatchPauses } from './dispatch-pauses';

export const resumedDispatchSchema = z
  .object({
    resumed: z.boolean().meta({ description: 'true when the dispatch was paused and is now resumed; false when it was not paused' }),
    lifted: z
      .object({ since: z.iso.datetime(), code: z.string().meta({ example: '1003' }), reason: z.string() })
      .nullable()
      .meta({ description: 'The pause this ended, as GET showed it in `paused`; null when there was none' }),
  })
  .meta({ id: 'ResumedDispatch' });

/** Resuming an app's WhatsApp dispatch after an account-level failure paused it. */
@ApiTags('Provider')
@AppApi()
@Controller('v3/channels/whatsapp/providers/gupshup_whatsapp')
export class DispatchPauseController {
  constructor(
    private readonly pauses: DispatchPauses,
    private readonly providers: GupshupProviderConfigService,
  ) {}

  @Post('resume')
  @HttpCode(HttpStatus.OK)
  @ApiOperation({
    summary: "Resume the app's WhatsApp dispatch after an account-level failure paused it",
    description:
      'Once the cause is fixed (wallet topped up, Gupshup rate limit lifted), the messages held `queued` while paused are sent. Resuming an app that is not paused changes nothing.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'Whether a pause was lifted, and which', standardSchema: resumedDispatchSchema })
  @ApiErrorResponses({ 404: 'The provider is not configured for this app' })
  async resume(@CurrentApp() app: AuthenticatedApp): Promise<{ resumed: boolean; lifted: ProviderPause | null }> {
    if (!(await this.providers.view(app))) throw new NotFoundException(notConfiguredMessage());
    const lifted = await this.pauses.resume(app.id);
    return { resumed: lifted !== null, lifted };
  }
}
