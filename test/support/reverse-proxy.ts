import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { accessSync, closeSync, constants, mkdirSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { eventually } from './eventually';
import { exitWithParent } from './exit-with-parent';
import { makeTempDir, removeTempDir } from './temp-dirs';

const TEMPLATE = resolve(__dirname, '..', '..', 'deploy', 'nginx', 'whatsapp-notify.conf.template');
const NGINX_CANDIDATES = ['/usr/sbin/nginx', '/usr/bin/nginx', '/usr/local/sbin/nginx', '/usr/local/bin/nginx'];

export interface ReverseProxy {
  url: string;
  /** nginx's access log so far (the template's, written to nginx's stdout): one line per request, with the instance that answered it. */
  accessLog(): string;
  /** Everything else nginx wrote: its error log and its stderr. */
  errorLog(): string;
  stop(): Promise<void>;
}

function nginxBinary(): string {
  for (const candidate of NGINX_CANDIDATES) {
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not there: the next one
    }
  }
  throw new Error('nginx is needed by this test and was not found: on Debian, `apt-get install -y nginx` (tools/system-packages.sh installs it)');
}

/**
 * The deployment's own proxy configuration (deploy/nginx/whatsapp-notify.conf.template) rendered
 * the way the nginx image does, with envsubst over the variables it names and nothing else.
 */
export function renderProxyConfig(variables: Record<string, string>): string {
  return readFileSync(TEMPLATE, 'utf8').replace(/\$\{([A-Z0-9_]+)\}/g, (whole, name: string) => variables[name] ?? whole);
}

/**
 * nginx in front of the given instances (host:port, two of them as the template has), listening
 * on `port`, as a process of this test's (it dies with it). Resolves once it answers /health.
 */
export async function startReverseProxy(options: { port: number; upstreams: [string, string] }): Promise<ReverseProxy> {
  const binary = nginxBinary();
  const dir = makeTempDir('nginx-');
  for (const temp of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(dir, temp));
  writeFileSync(join(dir, 'whatsapp-notify.conf'), renderProxyConfig({ API_1: options.upstreams[0], API_2: options.upstreams[1], PROXY_PORT: `127.0.0.1:${options.port}` }));
  writeFileSync(
    join(dir, 'nginx.conf'),
    [
      // One process, no workers: killed with the test's process, it leaves nothing behind
      // (nginx's workers outlive a killed master).
      'master_process off;',
      'daemon off;',
      `pid ${join(dir, 'nginx.pid')};`,
      `error_log ${join(dir, 'error.log')} warn;`,
      'events { worker_connections 1024; }',
      'http {',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((temp) => `  ${temp}_temp_path ${join(dir, temp)};`),
      `  include ${join(dir, 'whatsapp-notify.conf')};`,
      '}',
      '',
    ].join('\n'),
  );
  // The template logs requests to /dev/stdout (the container's log): a file here, since nginx
  // cannot open /dev/stdout when it is a pipe (Node's pipes are sockets).
  const stdoutFile = openSync(join(dir, 'access.log'), 'a');
  const child: ChildProcess = spawn(binary, ['-p', dir, '-c', join(dir, 'nginx.conf'), '-e', join(dir, 'error.log')], { stdio: ['ignore', stdoutFile, 'pipe'] });
  closeSync(stdoutFile);
  if (child.pid) exitWithParent(child.pid);
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
  const exited = once(child, 'exit');
  const readLog = (name: string) => {
    try {
      return readFileSync(join(dir, name), 'utf8');
    } catch {
      return '';
    }
  };
  const url = `http://127.0.0.1:${options.port}`;
  const proxy: ReverseProxy = {
    url,
    accessLog: () => readLog('access.log'),
    errorLog: () => readLog('error.log') + stderr,
    async stop() {
      // SIGQUIT: nginx's graceful stop.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGQUIT');
      await exited;
      removeTempDir(dir);
    },
  };
  try {
    await eventually(async () => {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`nginx exited (${child.signalCode ?? child.exitCode}):\n${stderr}${readLog('error.log')}`);
      const res = await fetch(`${url}/health`).catch(() => undefined);
      return res?.status === 200 ? true : undefined;
    }, 'nginx to answer /health through an API instance');
  } catch (error) {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    removeTempDir(dir);
    throw error;
  }
  return proxy;
}
