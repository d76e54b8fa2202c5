import { ConfigurableModuleBuilder, Module, type ConfigurableModuleAsyncOptions, type DynamicModule, type Provider } from '@nestjs/common';
import { HttpAdapterHost, ModulesContainer } from '@nestjs/core';
import { AppModule } from '../app.module';
import { AppConfig, ConfigError } from '../config/app-config';
import { ConfigModule } from '../config/config.module';
import { HostEventsModule } from '../whatsapp/host-events/host-events.module';
import { MODULE_ROUTING, moduleConfig, type ModuleRouting, type WhatsAppNotifyModuleOptions } from './module-options';
import { controllersOf, mountModuleRoutes } from './module-routes';

const { ConfigurableModuleClass, MODULE_OPTIONS_TOKEN } = new ConfigurableModuleBuilder<WhatsAppNotifyModuleOptions>()
  .setClassMethodName('forRoot')
  .build();

const MODULE_SETUP = Symbol('whatsapp-notify-module-setup');
const ROUTES_MOUNTED = Symbol('whatsapp-notify-routes-mounted');
const IMPORTED_ONCE = Symbol('whatsapp-notify-imported-once');

/**
 * Each forRoot/forRootAsync call is a module of its own to NestJS; a second one would share the
 * first one's global configuration and buses, its options silently ignored.
 */
function checkImportedOnce(modules: ModulesContainer): void {
  const imports = [...modules.values()].filter((moduleRef) => moduleRef.metatype === WhatsAppNotifyModule).length;
  if (imports > 1) {
    throw new ConfigError(
      `WhatsAppNotifyModule is imported ${imports} times (forRoot or forRootAsync, called more than once): import it once, in one module of the application; its commands, queries and events are on the application's buses, for every module`,
    );
  }
}

/**
 * WhatsApp notifications through Gupshup, tracked message by message, as a module of a NestJS
 * application: `WhatsAppNotifyModule.forRoot({...})` or `.forRootAsync({imports, inject, useFactory})`.
 * Its commands and queries go on the application's CommandBus and QueryBus, its events on its
 * EventBus; its tables live in their own PostgreSQL schema. The standalone service is the same
 * module, configured from the environment (`forService`).
 */
@Module({})
export class WhatsAppNotifyModule extends ConfigurableModuleClass {
  static forRoot(options: WhatsAppNotifyModuleOptions): DynamicModule {
    return WhatsAppNotifyModule.inHost(super.forRoot(options));
  }

  static forRootAsync(options: ConfigurableModuleAsyncOptions<WhatsAppNotifyModuleOptions>): DynamicModule {
    return WhatsAppNotifyModule.inHost(super.forRootAsync(options));
  }

  /** The service on its own (main.ts): configured from the environment, serving every route itself. */
  static forService(config: AppConfig, extraImports: DynamicModule['imports'] = []): DynamicModule {
    return { module: WhatsAppNotifyModule, imports: [AppModule.forRoot(config, extraImports)] };
  }

  /** The options' providers (the builder's) make the configuration; the module's routes are then placed in the host. */
  private static inHost(optionsModule: DynamicModule): DynamicModule {
    const configProviders: Provider[] = [
      ...(optionsModule.providers ?? []),
      { provide: MODULE_SETUP, useFactory: moduleConfig, inject: [MODULE_OPTIONS_TOKEN] },
      { provide: AppConfig, useFactory: (setup: ReturnType<typeof moduleConfig>) => setup.config, inject: [MODULE_SETUP] },
      { provide: MODULE_ROUTING, useFactory: (setup: ReturnType<typeof moduleConfig>) => setup.routing, inject: [MODULE_SETUP] },
    ];
    const configModule = ConfigModule.fromProviders(configProviders, optionsModule.imports);
    configModule.exports = [...(configModule.exports ?? []), MODULE_ROUTING];
    const service = AppModule.around(configModule, [HostEventsModule]);
    const controllers = controllersOf(service);
    return {
      module: WhatsAppNotifyModule,
      imports: [service],
      providers: [
        { provide: IMPORTED_ONCE, useFactory: checkImportedOnce, inject: [ModulesContainer] },
        {
          provide: ROUTES_MOUNTED,
          useFactory: (routing: ModuleRouting, modules: ModulesContainer, adapterHost: HttpAdapterHost, config: AppConfig) =>
            mountModuleRoutes(controllers, routing, modules, adapterHost, config),
          inject: [MODULE_ROUTING, ModulesContainer, HttpAdapterHost, AppConfig],
        },
      ],
    };
  }
}
