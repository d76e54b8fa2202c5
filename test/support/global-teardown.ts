import type { EmbeddedPostgresServer } from '../../src/database/embedded-postgres';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { embeddedTestPostgres?: EmbeddedPostgresServer };
  await holder.embeddedTestPostgres?.stop();
  holder.embeddedTestPostgres = undefined;
}
