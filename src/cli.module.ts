import { Module, type DynamicModule } from '@nestjs/common';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';
import { ShareRunningEmbeddedServerModule } from './database/database.module';

/** Every feature module registers its own commands (nest-commander @Command providers). */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    // A command beside a running service uses that service's embedded PostgreSQL.
    return { module: CliModule, imports: [AppModule.forRoot(config), ShareRunningEmbeddedServerModule] };
  }
}
