import { rmSync } from 'node:fs';
import type { TestRun } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const holder = globalThis as { testRun?: TestRun };
  const run = holder.testRun;
  holder.testRun = undefined;
  if (!run) return;
  await run.server?.stop();
  rmSync(run.dir, { recursive: true, force: true });
}
