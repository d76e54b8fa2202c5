import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Ports taken here, one file each, so that two test runs on one machine never take the same one. */
const CLAIMS_DIR = join(tmpdir(), 'whatsapp-notify-test-ports');
const claimed: string[] = [];

/**
 * A free port that the kernel never hands out to `listen(0)`: one below the ephemeral range.
 * Tests that free a port and bind it again later (a service restarted after `kill -9`, a
 * PostgreSQL restarted, a port that must refuse connections for a while) would otherwise race
 * every other test process on the machine asking for "any port", and may find someone else's
 * server there. Two test runs side by side draw from the same range, so each port is also claimed
 * for the process that takes it (a file per port, beside the other runs').
 */
export async function portOutsideEphemeralRange(): Promise<number> {
  const [lowest] = ephemeralRange();
  const top = Math.max(lowest - 1, 2048);
  const bottom = Math.max(1024, top - 12000);
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = bottom + Math.floor(Math.random() * (top - bottom));
    if ((await isFree(port)) && claim(port)) return port;
  }
  throw new Error(`no free port found between ${bottom} and ${top}`);
}

function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    if (Number.isInteger(low) && Number.isInteger(high)) return [low, high];
  } catch {
    // Not Linux: the range IANA recommends.
  }
  return [49152, 65535];
}

function isFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

/**
 * Claims a port for this process: a file named after it, holding the pid. Another process's claim
 * stands while that process lives; the claims go when this process exits.
 */
function claim(port: number): boolean {
  mkdirSync(CLAIMS_DIR, { recursive: true, mode: 0o777 });
  const path = join(CLAIMS_DIR, String(port));
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      if (claimed.length === 0) process.once('exit', () => claimed.forEach((each) => rmSync(each, { force: true })));
      claimed.push(path);
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      if (holderIsAlive(path)) return false;
      rmSync(path, { force: true });
    }
  }
  return false;
}

function holderIsAlive(path: string): boolean {
  const content = readFileSync(path, 'utf8');
  // Created an instant ago, its pid not written yet.
  if (content === '') return true;
  const pid = Number(content);
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
