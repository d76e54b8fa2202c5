import { rmSync } from 'node:fs';
import type { EmbeddedTestServer } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { embeddedTestPostgres?: EmbeddedTestServer };
  const embedded = holder.embeddedTestPostgres;
  holder.embeddedTestPostgres = undefined;
  if (!embedded) return;
  await embedded.server.stop();
  rmSync(embedded.dir, { recursive: true, force: true });
}
