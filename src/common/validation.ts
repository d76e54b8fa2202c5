import { BadRequestException, ValidationPipe, type ValidationError } from '@nestjs/common';

function describe(errors: ValidationError[], prefix = ''): string[] {
  return errors.flatMap((error) => {
    const path = prefix ? `${prefix}.${error.property}` : error.property;
    const own = Object.values(error.constraints ?? {}).map((message) =>
      // class-validator starts messages with the property name; qualify nested ones with their path.
      prefix && message.startsWith(error.property) ? `${prefix}.${message}` : message,
    );
    return [...own, ...describe(error.children ?? [], path)];
  });
}

/**
 * Validates typed bodies and queries. Unknown fields in a typed body are rejected, so a typo is
 * reported instead of silently ignored; every problem is listed in one message.
 */
export function createValidationPipe(): ValidationPipe {
  return new ValidationPipe({
    whitelist: true,
    forbidNonWhitelisted: true,
    transform: true,
    exceptionFactory: (errors) => new BadRequestException(describe(errors).join('; ')),
  });
}
