import { Type } from 'class-transformer';
import { IsBoolean, IsDefined, IsObject, IsOptional, IsString, ValidateNested } from 'class-validator';

export class GupshupConfigDto {
  @IsOptional()
  @IsString({ message: 'config.API_KEY must be a string: the Gupshup account API key' })
  API_KEY?: string;

  @IsOptional()
  @IsString({ message: 'config.SOURCE must be a string of digits: the WhatsApp business number, e.g. "917834811114"' })
  SOURCE?: string;

  @IsOptional()
  @IsString({ message: 'config.SRC_NAME must be a string: the Gupshup app name, e.g. "DemoAPI"' })
  SRC_NAME?: string;
}

/** `PUT /v3/channels/whatsapp/providers/gupshup_whatsapp`. */
export class PutGupshupProviderDto {
  @IsDefined({ message: 'enabled is required: true to send through Gupshup, false to stop (the stored config is kept)' })
  @IsBoolean({ message: 'enabled must be true or false' })
  enabled: boolean;

  @IsOptional()
  @IsObject({ message: 'config must be an object with API_KEY, SOURCE and SRC_NAME' })
  @ValidateNested()
  @Type(() => GupshupConfigDto)
  config?: GupshupConfigDto;
}
