import { spawn } from 'node:child_process';

/**
 * A watchdog of its own (a small detached node process) that sends `signal` to `pid` once this
 * process has gone, however it went: a test runner killed with SIGKILL runs no exit hook, and the
 * services and database servers a test started would otherwise outlive it. The watchdog ends by
 * itself when `pid` has ended.
 */
export function exitWithParent(pid: number, signal: NodeJS.Signals = 'SIGKILL'): void {
  const script = `
    const [parent, target, signal] = [Number(process.argv[1]), Number(process.argv[2]), process.argv[3]];
    const alive = (p) => { try { process.kill(p, 0); return true; } catch (e) { return e.code === 'EPERM'; } };
    setInterval(() => {
      if (!alive(target)) process.exit(0);
      if (!alive(parent)) { try { process.kill(target, signal); } catch {} process.exit(0); }
    }, 500);
  `;
  const watchdog = spawn(process.execPath, ['-e', script, String(process.pid), String(pid), signal], { detached: true, stdio: 'ignore' });
  watchdog.unref();
}
