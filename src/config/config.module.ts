import { Global, Module, type DynamicModule, type Provider } from '@nestjs/common';
import { AppConfig } from './app-config';

@Global()
@Module({})
export class ConfigModule {
  /** `config` defaults to the process environment; tests pass their own. */
  static forRoot(config: AppConfig = AppConfig.fromEnv(process.env)): DynamicModule {
    return { module: ConfigModule, providers: [{ provide: AppConfig, useValue: config }], exports: [AppConfig] };
  }

  /** The configuration made by providers (a host application's options, given at start-up), with what they need. */
  static fromProviders(providers: Provider[], imports: DynamicModule['imports'] = []): DynamicModule {
    return { module: ConfigModule, imports, providers, exports: [AppConfig] };
  }
}
