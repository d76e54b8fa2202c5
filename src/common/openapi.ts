import { applyDecorators } from '@nestjs/common';
import { ApiResponse, type OpenAPIObject, type StandardSchemaConverter } from '@nestjs/swagger';
import { z } from 'zod';

/** The body of every error answer (see ErrorResponseFilter). */
export const errorBodySchema = z
  .looseObject({
    statusCode: z.number().int().meta({ example: 400 }),
    message: z.string().meta({ description: 'What went wrong and what to do about it; every problem of the request, separated by "; "' }),
    error: z.string().meta({ example: 'Bad Request', description: 'The HTTP status text' }),
  })
  .meta({ id: 'Error', description: 'Every error answer has this shape' });

type JsonSchema = Record<string, unknown>;

/**
 * zod's JSON Schema for OpenAPI 3.0. Parts JSON Schema cannot express (custom checks, transforms)
 * are described by their metadata instead of failing the document, and the long patterns zod
 * gives string formats are left out: the format names them.
 */
function toJsonSchema(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
  return z.toJSONSchema(schema, {
    target: 'openapi-3.0',
    io,
    unrepresentable: 'any',
    override: ({ jsonSchema }) => {
      const described = jsonSchema as JsonSchema;
      if (typeof described.format === 'string' && typeof described.pattern === 'string') delete described.pattern;
    },
  }) as JsonSchema;
}

function isZodSchema(schema: unknown): schema is z.ZodType {
  return typeof schema === 'object' && schema !== null && (schema as { _zod?: unknown })._zod !== undefined;
}

/**
 * For SwaggerModule.createDocument: the schemas of `@Body({ schema })`, `@Query({ schema })`,
 * `@Param(name, { schema })` and `@ApiResponse({ standardSchema })`. Schemas given an id with
 * `.meta({ id })` become named components.
 */
export const openApiSchemaConverter: StandardSchemaConverter = (schema, { schemaType }) => {
  if (!isZodSchema(schema)) return undefined;
  const { definitions, $defs, $schema: _dialect, ...rest } = toJsonSchema(schema, schemaType);
  return { schema: rest, components: { ...((definitions ?? {}) as JsonSchema), ...(($defs ?? {}) as JsonSchema) } };
};

/** A request body's JSON schema, inline, for `@ApiBody({ schema })` where the body is validated elsewhere. */
export function requestBodySchema(schema: z.ZodType): JsonSchema {
  const { definitions: _definitions, $defs: _defs, $schema: _dialect, ...rest } = toJsonSchema(schema, 'input');
  return rest;
}

/** Error answers of a route or controller, each with its meaning and the error body's schema. */
export function ApiErrorResponses(responses: Record<number, string>): MethodDecorator & ClassDecorator {
  return applyDecorators(
    ...Object.entries(responses).map(([status, description]) => ApiResponse({ status: Number(status), description, standardSchema: errorBodySchema })),
  );
}

const BODY_METHODS = ['post', 'put', 'patch'] as const;

/**
 * Every POST, PUT and PATCH goes through the body parsers before its route, which refuse a body
 * over BODY_LIMIT_BYTES (413) and one sent as anything but JSON, or compressed (415): declared on each, so that
 * /docs lists what a caller can meet. A route that reads its body whatever its type (Gupshup's
 * callbacks) declares its own.
 */
export function declareBodyRefusals(document: OpenAPIObject, bodyLimit: number): void {
  const error = { content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } };
  for (const item of Object.values(document.paths)) {
    for (const method of BODY_METHODS) {
      const operation = item[method];
      const body = operation?.requestBody as { content?: Record<string, unknown> } | undefined;
      if (!operation || body?.content?.['text/plain']) continue;
      const responses = operation.responses;
      responses['413'] ??= { description: `The body is larger than ${bodyLimit} bytes (BODY_LIMIT_BYTES)`, ...error };
      responses['415'] ??= {
        description: 'The body is not sent as JSON, or is sent compressed (Content-Encoding): send it uncompressed, with Content-Type: application/json',
        ...error,
      };
    }
  }
}
