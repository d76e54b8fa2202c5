import { type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, MODULE_PATH, PATH_METADATA, PIPES_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import type { FastifyInstance, HTTPMethods } from 'fastify';
import { ErrorResponseFilter } from '../common/error-response.filter';
import { createValidationPipe } from '../common/validation';
import { AppConfig, ConfigError } from '../config/app-config';
import { readModuleBodiesAsTheService } from './module-bodies';
import type { ModuleRouting } from './module-options';

type ModuleImport = Type | DynamicModule | Promise<DynamicModule> | ForwardReference;

/** The controllers of a module and of everything it imports, declared statically or dynamically. */
export function controllersOf(root: ModuleImport, seen = new Set<unknown>()): Set<Type> {
  const found = new Set<Type>();
  if (!root || root instanceof Promise || 'forwardRef' in root || seen.has(root)) return found;
  seen.add(root);
  const moduleClass: Type = 'module' in root ? root.module : root;
  const dynamic: Partial<DynamicModule> = 'module' in root ? root : {};
  const controllers = [...((Reflect.getMetadata('controllers', moduleClass) as Type[] | undefined) ?? []), ...(dynamic.controllers ?? [])];
  const imports = [...((Reflect.getMetadata('imports', moduleClass) as ModuleImport[] | undefined) ?? []), ...((dynamic.imports as ModuleImport[] | undefined) ?? [])];
  for (const controller of controllers) found.add(controller);
  for (const imported of imports) for (const controller of controllersOf(imported, seen)) found.add(controller);
  return found;
}

/** The first segments of the module's routes (`/health`, `/v3`, ...), or its routePrefix: every route of the module is under one of them. */
export function routeRoots(controllers: ReadonlySet<Type>, routing: ModuleRouting): string[] {
  if (routing.routePrefix) return [`/${routing.routePrefix}`];
  const roots = new Set<string>();
  for (const controller of controllers) {
    const paths = [Reflect.getMetadata(PATH_METADATA, controller) as string | string[] | undefined].flat();
    for (const path of paths) {
      const first = (path ?? '').replace(/^\/+/, '').split('/')[0];
      if (first) roots.add(`/${first}`);
    }
  }
  return [...roots].sort();
}

/** Whether a route's URL is under one of the roots (routeRoots): one of the module's routes. */
function underRoots(roots: string[]): (url: string) => boolean {
  return (url) => roots.some((root) => url === root || url.startsWith(`${root}/`));
}

/**
 * A route of the application declared twice, one of them the module's, fails start-up saying so
 * (Fastify's own error names neither side): Fastify calls onRoute before it adds a route, so the
 * route is checked against those already declared, whichever side came first.
 */
function refuseCollisions(fastify: FastifyInstance, roots: string[], routing: ModuleRouting): void {
  const isUnder = underRoots(roots);
  fastify.addHook('onRoute', (route) => {
    if (!isUnder(route.url)) return;
    const methods = [route.method].flat() as HTTPMethods[];
    // HEAD routes are added by Fastify beside GET ones; a GET collision is reported first.
    const taken = methods.find((method) => method !== 'HEAD' && fastify.hasRoute({ method, url: route.url, constraints: route.constraints }));
    if (!taken) return;
    const advice = routing.routePrefix
      ? `routePrefix "${routing.routePrefix}" is also used by the application: choose another routePrefix, or set http: false to mount none`
      : `without routePrefix the module mounts its routes at the root of the server (${roots.join(', ')}): set routePrefix (e.g. "whatsapp") to mount them under it, or http: false to mount none`;
    throw new ConfigError(`Invalid WhatsAppNotifyModule options: the application already declares ${taken} ${route.url}, a route of WhatsAppNotifyModule; ${advice}`);
  });
}

/**
 * Where the module's routes go in a host application, decided before the host's router maps
 * them: none (`http: false`: its controllers are taken out of their modules), or under
 * `routePrefix`, answering with the service's validation and error shapes, and reading their
 * bodies as the service does (module-bodies.ts). The service itself sets those for the whole
 * server instead (bootstrap.ts), so nothing here runs for it.
 */
export function mountModuleRoutes(
  controllers: ReadonlySet<Type>,
  routing: ModuleRouting,
  modules: ModulesContainer,
  adapterHost: HttpAdapterHost,
  config: AppConfig,
): void {
  const ownModules = [...modules.values()].filter((moduleRef) => [...moduleRef.controllers.values()].some(({ metatype }) => controllers.has(metatype as Type)));
  if (!routing.http) {
    for (const moduleRef of ownModules) {
      for (const [token, wrapper] of moduleRef.controllers) if (controllers.has(wrapper.metatype as Type)) moduleRef.controllers.delete(token);
    }
    return;
  }
  const adapter = adapterHost.httpAdapter;
  if (!adapter) return; // an application context: nothing is served
  if (adapter.getType() !== 'fastify') {
    throw new ConfigError(`Invalid WhatsAppNotifyModule options: http needs the host to run on Fastify (@nestjs/platform-fastify), not ${adapter.getType()}; or set http: false`);
  }
  const fastify = adapter.getInstance<FastifyInstance>();
  const roots = routeRoots(controllers, routing);
  refuseCollisions(fastify, roots, routing);
  const pipe = createValidationPipe();
  const filter = new ErrorResponseFilter(adapter, config.get('BODY_LIMIT_BYTES'));
  readModuleBodiesAsTheService(fastify, underRoots(roots), adapter, filter, config.get('BODY_LIMIT_BYTES'));
  for (const controller of controllers) {
    // What @UsePipes and @UseFilters on each controller would say, for this application only.
    Reflect.defineMetadata(PIPES_METADATA, [pipe], controller);
    Reflect.defineMetadata(EXCEPTION_FILTERS_METADATA, [filter], controller);
  }
  if (routing.routePrefix) {
    for (const moduleRef of ownModules) Reflect.defineMetadata(MODULE_PATH + modules.applicationId, routing.routePrefix, moduleRef.metatype);
  }
}
