import { Module, type DynamicModule } from '@nestjs/common';
import { AppModule } from './app.module';
import { AppConfig } from './config/app-config';

/** Every feature module registers its own commands (nest-commander @Command providers). */
@Module({})
export class CliModule {
  static forRoot(config: AppConfig): DynamicModule {
    return { module: CliModule, imports: [AppModule.forRoot(config)] };
  }
}
