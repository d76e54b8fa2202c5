import { createServer } from 'node:net';
import { ConfigError } from '../config/app-config';
import { checkCanListen, describeListenError } from './listen-check';

describe('checkCanListen', () => {
  it('lets go of a free port, which can then be bound again', async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const { port } = probe.address() as { port: number };
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    await checkCanListen('127.0.0.1', port);
    await checkCanListen('127.0.0.1', port);
  });

  it('refuses a port in use with a ConfigError naming PORT and HOST', async () => {
    const taken = createServer();
    await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve));
    const { port } = taken.address() as { port: number };
    try {
      const error = await checkCanListen('127.0.0.1', port).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toBe(`Cannot listen: PORT ${port} is already in use on 127.0.0.1: stop what listens there or set PORT to a free port`);
    } finally {
      await new Promise<void>((resolve) => taken.close(() => resolve()));
    }
  });
});

describe('describeListenError', () => {
  it.each([
    ['EADDRNOTAVAIL', 'HOST=192.0.2.1 is not an address of this machine: set HOST'],
    ['ENOTFOUND', 'HOST=192.0.2.1 does not resolve to an address (ENOTFOUND): set HOST'],
    ['EACCES', 'PORT 80 on 192.0.2.1 needs privileges this process lacks'],
  ])('names the setting for %s', (code, expected) => {
    expect(describeListenError(Object.assign(new Error(code), { code }), '192.0.2.1', 80)).toContain(expected);
  });
});
