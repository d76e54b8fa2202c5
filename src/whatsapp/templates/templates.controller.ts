import { Body, Controller, Delete, Get, HttpCode, HttpStatus, NotFoundException, Param, Put, Query } from '@nestjs/common';
import { ApiOperation, ApiResponse, ApiTags } from '@nestjs/swagger';
import { CurrentApp, type AuthenticatedApp } from '../../apps';
import { AppApi } from '../../apps/auth/app-api.decorator';
import { noQueryParameters } from '../../common/input-schemas';
import { ApiErrorResponses } from '../../common/openapi';
import {
  registeredTemplateSchema,
  templateDefinitionSchema,
  templateIdentifierParamSchema,
  templateListSchema,
  type RegisteredTemplate,
  type TemplateDefinition,
} from './template-definition';
import { TemplatesService } from './templates.service';

const HOW_TO_REGISTER = 'register it with PUT /v3/channels/whatsapp/templates/{identifier} {"gupshupTemplateId", "params", "header"}';

/** The app's WhatsApp templates, by the identifier sends name. */
@ApiTags('WhatsApp templates')
@AppApi()
@Controller('v3/channels/whatsapp/templates')
export class TemplatesController {
  constructor(private readonly templates: TemplatesService) {}

  @Put(':identifier')
  @ApiOperation({
    summary: 'Register or replace a WhatsApp template under an identifier',
    description:
      'Sends naming the identifier (notification.templateIdentifier, templateId or workflow.identifier) send this Gupshup template. ' +
      'params fill its variables in order: {{data.PATH}} reads the request\'s data, {{recipient.FIELD}} the recipient\'s profile. ' +
      'status follows Gupshup\'s template-events; a rejected, paused, disabled, deleted, pending or in_appeal template is not sent.',
  })
  @ApiResponse({ status: HttpStatus.OK, description: 'The template as registered', standardSchema: registeredTemplateSchema })
  @ApiErrorResponses({ 400: 'The identifier or the body is invalid; the message names every problem' })
  save(
    @CurrentApp() app: AuthenticatedApp,
    @Param('identifier', { schema: templateIdentifierParamSchema }) identifier: string,
    @Body({ schema: templateDefinitionSchema }) body: TemplateDefinition,
  ): Promise<RegisteredTemplate> {
    return this.templates.save(app.id, identifier, body);
  }

  @Get()
  @ApiOperation({ summary: "The app's WhatsApp templates, by identifier" })
  @ApiResponse({ status: HttpStatus.OK, description: 'Every registered template', standardSchema: templateListSchema })
  @ApiErrorResponses({ 400: 'A query parameter was given: this list takes none' })
  async list(@CurrentApp() app: AuthenticatedApp, @Query({ schema: noQueryParameters }) _query: object): Promise<{ data: RegisteredTemplate[] }> {
    return { data: await this.templates.list(app.id) };
  }

  @Get(':identifier')
  @ApiOperation({ summary: 'One WhatsApp template, with its status' })
  @ApiResponse({ status: HttpStatus.OK, description: 'The template', standardSchema: registeredTemplateSchema })
  @ApiErrorResponses({ 400: 'The identifier is invalid', 404: 'No template under this identifier in this app' })
  async get(@CurrentApp() app: AuthenticatedApp, @Param('identifier', { schema: templateIdentifierParamSchema }) identifier: string): Promise<RegisteredTemplate> {
    const template = await this.templates.find(app.id, identifier);
    if (!template) throw new NotFoundException(`No WhatsApp template ${JSON.stringify(identifier)} in this app: ${HOW_TO_REGISTER}`);
    return template;
  }

  @Delete(':identifier')
  @HttpCode(HttpStatus.NO_CONTENT)
  @ApiOperation({ summary: 'Remove a WhatsApp template', description: 'Later sends naming it are refused (400); messages already queued are sent as accepted.' })
  @ApiResponse({ status: HttpStatus.NO_CONTENT, description: 'Removed' })
  @ApiErrorResponses({ 400: 'The identifier is invalid', 404: 'No template under this identifier in this app' })
  async delete(@CurrentApp() app: AuthenticatedApp, @Param('identifier', { schema: templateIdentifierParamSchema }) identifier: string): Promise<void> {
    if (!(await this.templates.delete(app.id, identifier))) {
      throw new NotFoundException(`No WhatsApp template ${JSON.stringify(identifier)} in this app: ${HOW_TO_REGISTER}`);
    }
  }
}
