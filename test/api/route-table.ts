import { RequestMethod } from '@nestjs/common';
import { METHOD_METADATA, PATH_METADATA, ROUTE_ARGS_METADATA } from '@nestjs/common/constants';
import { RouteParamtypes } from '@nestjs/common/enums/route-paramtypes.enum';
import { DiscoveryService, MetadataScanner } from '@nestjs/core';
import type { TestApp } from '../support/test-app';

// Metadata keys of @ApiExcludeController() and @ApiExcludeEndpoint() (not exported by @nestjs/swagger).
const API_EXCLUDE_CONTROLLER = 'swagger/apiExcludeController';
const API_EXCLUDE_ENDPOINT = 'swagger/apiExcludeEndpoint';

export interface Route {
  /** GET, POST, ... */
  method: string;
  /** OpenAPI form: /v3/users/{identifier}. */
  path: string;
  /** The handler reads the body (@Body, @RawBody or the whole request). */
  readsBody: boolean;
}

const BODY_READERS = new Set([RouteParamtypes.BODY, RouteParamtypes.RAW_BODY, RouteParamtypes.REQUEST]);

/** Every handler of every controller the application registered, but those hidden with @ApiExclude*: what /docs must describe. */
export function routeTable(t: TestApp): Route[] {
  const scanner = new MetadataScanner();
  const join = (...parts: string[]) =>
    `/${parts
      .map((part) => part.replace(/^\/+|\/+$/g, ''))
      .filter(Boolean)
      .join('/')}`.replace(/:(\w+)/g, '{$1}')
      // A bare wildcard, as @nestjs/swagger names it (LegacyRouteConverter: `*` is `*path`).
      .replace(/\/\*$/, '/{path}');
  return t.app
    .get(DiscoveryService)
    .getControllers()
    .flatMap((wrapper) => {
      const controller = wrapper.metatype as (new (...args: never[]) => object) | null;
      if (!controller || !wrapper.instance || Reflect.getMetadata(API_EXCLUDE_CONTROLLER, controller)?.[0]) return [];
      const prefixes = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, controller) ?? '');
      const prototype = Object.getPrototypeOf(wrapper.instance) as Record<string, unknown>;
      return scanner.getAllMethodNames(prototype).flatMap((name) => {
        const handler = prototype[name] as object;
        const method = Reflect.getMetadata(METHOD_METADATA, handler) as RequestMethod | undefined;
        if (method === undefined || Reflect.getMetadata(API_EXCLUDE_ENDPOINT, handler)?.disable) return [];
        const args = (Reflect.getMetadata(ROUTE_ARGS_METADATA, controller, name) ?? {}) as Record<string, unknown>;
        const readsBody = Object.keys(args).some((key) => BODY_READERS.has(Number(key.split(':')[0])));
        const paths = ([] as string[]).concat(Reflect.getMetadata(PATH_METADATA, handler) ?? '');
        return prefixes.flatMap((prefix) => paths.map((path) => ({ method: RequestMethod[method], path: join(prefix, path), readsBody })));
      });
    })
    .sort((a, b) => `${a.path} ${a.method}`.localeCompare(`${b.path} ${b.method}`));
}

export type JsonSchema = Record<string, unknown>;

export interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, Record<string, unknown>> };
}

export interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header' | 'cookie';
  required?: boolean;
  schema?: JsonSchema;
}

export interface Operation {
  parameters?: Parameter[];
  requestBody?: { content?: Record<string, { schema?: JsonSchema }> };
  responses: Record<string, { description?: string; content?: Record<string, { schema?: JsonSchema }> }>;
  security?: Record<string, string[]>[];
}

/** The schema itself, following a $ref into components. */
export function resolveSchema(document: OpenApiDocument, schema: JsonSchema | undefined): JsonSchema | undefined {
  let current = schema;
  for (let hops = 0; current && typeof current.$ref === 'string' && hops < 10; hops++) {
    current = document.components.schemas[(current.$ref as string).replace('#/components/schemas/', '')];
  }
  return current;
}

/** A schema that says something about the value: a type with what it holds, or a combination. */
export function isDescriptive(document: OpenApiDocument, schema: JsonSchema | undefined): boolean {
  const resolved = resolveSchema(document, schema);
  if (!resolved || Object.keys(resolved).length === 0) return false;
  if (resolved.oneOf || resolved.anyOf || resolved.allOf) return true;
  if (resolved.type === 'object') return Object.keys((resolved.properties as object | undefined) ?? {}).length > 0 || typeof resolved.additionalProperties === 'object';
  if (resolved.type === 'array') return resolved.items !== undefined;
  return typeof resolved.type === 'string';
}
