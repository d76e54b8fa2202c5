import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { GIVE_UP_AFTER_MS } from '../support/eventually';

const root = join(__dirname, '..', '..');

function start(env: Record<string, string>) {
  return spawnSync(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: root,
    env: { PATH: process.env.PATH ?? '', ...env },
    encoding: 'utf8',
    timeout: GIVE_UP_AFTER_MS, // only ends a start that hangs
  });
}

describe('start-up configuration check', () => {
  it.each([
    [{ PORT: 'eighty' }, 'PORT must be a port number'],
    [{ GUPSHUP_RATE_LIMIT: '-1' }, 'GUPSHUP_RATE_LIMIT must be a whole number from 0 to 100000'],
    [{ LOG_LEVEL: 'loud' }, 'LOG_LEVEL must be one of error, warn, info, debug'],
    [{ ROLES: 'api,worker' }, 'ROLES must be a comma-separated list of api, dispatch, subscriptions (unknown: worker)'],
  ])('refuses %j with one line naming it, before touching any database', (env, expected) => {
    const result = start(env);
    expect(result.status).toBe(78);
    const lines = result.stderr.trim().split('\n');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain(expected);
  });
});
