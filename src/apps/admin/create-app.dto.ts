import { Transform } from 'class-transformer';
import { IsNotEmpty, IsString, Matches, MaxLength } from 'class-validator';

export const APP_NAME_MAX_LENGTH = 200;

export class CreateAppDto {
  @Transform(({ value }) => (typeof value === 'string' ? value.trim() : value))
  @IsString({ message: 'name must be a string, the app\'s display name (e.g. "Acme")' })
  @IsNotEmpty({ message: 'name must not be empty: give the app a display name (e.g. "Acme")' })
  @MaxLength(APP_NAME_MAX_LENGTH, { message: `name must be at most ${APP_NAME_MAX_LENGTH} characters` })
  // eslint-disable-next-line no-control-regex
  @Matches(/^[^\u0000-\u001f\u007f]*$/, { message: 'name must not contain control characters' })
  name: string;
}
