export { UsersModule } from './users.module';
export { UsersService, InvalidUserError, type User } from './users.service';
export { E164_EXAMPLE, E164_PATTERN, E164_RULE, e164ErrorMessage, e164Problem, isE164, maskedPhoneNumber } from './phone-number';
export { IDENTIFIER_MAX_LENGTH, IDENTIFIER_RULE, identifierError, isValidIdentifier } from './user-identifier';
export { PROFILE_LIMITS, profilePatchSchema, type JsonValue } from './user-profile';
export { UserDeleted, UserProfileUpdated, userStreamId, type UserDeletedData, type UserProfileUpdatedData } from './user-events';
