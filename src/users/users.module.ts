import { Global, Module } from '@nestjs/common';
import { SdkUserDeletionController, UsersController } from './users.controller';
import { UsersService } from './users.service';

/** User profiles per app. Global, so that the sending code can inject UsersService directly. */
@Global()
@Module({
  controllers: [UsersController, SdkUserDeletionController],
  providers: [UsersService],
  exports: [UsersService],
})
export class UsersModule {}
