import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * A new directory under the run's temporary root (set by the global setup; the system's
 * temporary directory otherwise). The global teardown removes the root with whatever a test
 * left in it; tests still remove their own directories when they are done with them.
 */
export function makeTempDir(prefix: string): string {
  return mkdtempSync(join(process.env.TEST_TEMP_ROOT ?? tmpdir(), prefix));
}

export function removeTempDir(dir: string): void {
  rmSync(dir, { recursive: true, force: true });
}
