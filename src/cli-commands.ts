import type { DynamicModule, ForwardReference, Provider, Type } from '@nestjs/common';
import { CommandRunner } from 'nest-commander';

type ModuleImport = Type | DynamicModule | Promise<DynamicModule> | ForwardReference;

function isCommandClass(candidate: unknown): candidate is Type<CommandRunner> {
  return typeof candidate === 'function' && candidate.prototype instanceof CommandRunner;
}

/**
 * Every command class (nest-commander's CommandRunner) a module registers, found by reading the
 * module tree's metadata only: no provider is built, so no database is opened and no file written.
 */
export async function commandClasses(root: ModuleImport): Promise<Type<CommandRunner>[]> {
  const found = new Set<Type<CommandRunner>>();
  const seen = new Set<unknown>();
  const visitProviders = (providers: Provider[] | undefined) => {
    for (const provider of providers ?? []) {
      const type = typeof provider === 'function' ? provider : 'useClass' in provider ? provider.useClass : undefined;
      if (isCommandClass(type)) found.add(type);
    }
  };
  const visit = async (entry: ModuleImport | undefined): Promise<void> => {
    if (!entry) return;
    const module = entry instanceof Promise ? await entry : 'forwardRef' in entry ? entry.forwardRef() : entry;
    if (seen.has(module)) return;
    seen.add(module);
    const type = typeof module === 'function' ? module : module.module;
    visitProviders(Reflect.getMetadata('providers', type) as Provider[] | undefined);
    const imports = [...((Reflect.getMetadata('imports', type) as ModuleImport[] | undefined) ?? [])];
    if (typeof module !== 'function') {
      visitProviders(module.providers);
      imports.push(...((module.imports ?? []) as ModuleImport[]));
    }
    for (const imported of imports) await visit(imported);
  };
  await visit(root);
  return [...found];
}

/**
 * A module holding the commands alone, each an instance without its dependencies: enough for
 * commander to print help and refuse a usage error. A command the arguments do select is not run:
 * `selected` is called instead, and the caller runs the real module.
 */
export async function commandsOnlyModule(root: ModuleImport, selected: () => void): Promise<DynamicModule> {
  const commands = await commandClasses(root);
  class CliCommandsOnlyModule {}
  return {
    module: CliCommandsOnlyModule,
    providers: commands.map((command) => ({
      provide: command,
      useValue: Object.create(command.prototype, { run: { value: async () => selected() } }) as CommandRunner,
    })),
  };
}
