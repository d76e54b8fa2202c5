import { Global, Injectable, Module } from '@nestjs/common';
import { LazyModuleLoader, ModuleRef, ModulesContainer } from '@nestjs/core';
import { CommandBus, CqrsModule, EventBus, QueryBus } from '@nestjs/cqrs';

/**
 * The application's CommandBus, QueryBus and EventBus: those of the CqrsModule the application
 * imports (`CqrsModule.forRoot()`), the very instances `app.get(EventBus)` gives, looked up when
 * first used (after start-up, when every module is built). The module never brings a CqrsModule
 * of its own beside the host's: a second one would have buses of its own, and events published
 * on them would not reach the host's `app.get(EventBus)`.
 */
@Injectable()
export class ApplicationBuses {
  constructor(private readonly moduleRef: ModuleRef) {}

  get commandBus(): CommandBus {
    return this.moduleRef.get(CommandBus, { strict: false });
  }

  get queryBus(): QueryBus {
    return this.moduleRef.get(QueryBus, { strict: false });
  }

  get eventBus(): EventBus {
    return this.moduleRef.get(EventBus, { strict: false });
  }
}

/** Whether an application imports a CqrsModule (forRoot or the class itself), known once every module is scanned. */
function importsCqrs(modules: ModulesContainer): boolean {
  return [...modules.values()].some((moduleRef) => moduleRef.metatype === CqrsModule);
}

const CQRS_IN_APPLICATION = Symbol('cqrs-in-application');

/**
 * Gives the module the application's CQRS buses. A host that imports `CqrsModule.forRoot()` keeps
 * its own, the only ones; one that does not gets `CqrsModule.forRoot()` loaded here while the
 * modules are built (before any start-up hook), so that it is the application's, as if the host
 * had imported it: its handlers, `app.get(EventBus)` and the module's events all on it.
 */
@Global()
@Module({
  providers: [
    ApplicationBuses,
    {
      provide: CQRS_IN_APPLICATION,
      useFactory: async (modules: ModulesContainer, loader: LazyModuleLoader): Promise<true> => {
        if (!importsCqrs(modules)) await loader.load(() => CqrsModule.forRoot());
        return true;
      },
      inject: [ModulesContainer, LazyModuleLoader],
    },
  ],
  exports: [ApplicationBuses],
})
export class ApplicationCqrsModule {}
