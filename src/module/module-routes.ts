import { type DynamicModule, type ForwardReference, type Type } from '@nestjs/common';
import { EXCEPTION_FILTERS_METADATA, MODULE_PATH, PIPES_METADATA } from '@nestjs/common/constants';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { ErrorResponseFilter } from '../common/error-response.filter';
import { createValidationPipe } from '../common/validation';
import { AppConfig, ConfigError } from '../config/app-config';
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

/**
 * Where the module's routes go in a host application, decided before the host's router maps
 * them: none (`http: false`: its controllers are taken out of their modules), or under
 * `routePrefix`, answering with the service's validation and error shapes. The service itself
 * sets those for the whole server instead (bootstrap.ts), so nothing here runs for it.
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
  const pipe = createValidationPipe();
  const filter = new ErrorResponseFilter(adapter, config.get('BODY_LIMIT_BYTES'));
  for (const controller of controllers) {
    // What @UsePipes and @UseFilters on each controller would say, for this application only.
    Reflect.defineMetadata(PIPES_METADATA, [pipe], controller);
    Reflect.defineMetadata(EXCEPTION_FILTERS_METADATA, [filter], controller);
  }
  if (routing.routePrefix) {
    for (const moduleRef of ownModules) Reflect.defineMetadata(MODULE_PATH + modules.applicationId, routing.routePrefix, moduleRef.metatype);
  }
}
