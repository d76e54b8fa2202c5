import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { portOutsideEphemeralRange } from '../support/ports';
import { eventually } from '../support/eventually';

const ROOT = resolve(__dirname, '..', '..');
const SECTION = '## Trying it without a Gupshup account';

/** The ```bash blocks of the README's walkthrough, in order: the service's terminal, then the other one. */
function walkthroughBlocks(readme: string): string[] {
  const start = readme.indexOf(SECTION);
  if (start < 0) throw new Error(`README.md has no "${SECTION}" section`);
  const end = readme.indexOf('\n## ', start + SECTION.length);
  const section = readme.slice(start, end < 0 ? undefined : end);
  return [...section.matchAll(/```bash\n([\s\S]*?)```/g)].map((match) => match[1]);
}

interface Started {
  child: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/**
 * A shell command in a fresh bash (no profile, no rc file) in the project's folder, in a process
 * group of its own so that what it leaves running in the background can be stopped with it.
 */
function startShell(script: string, env: Record<string, string>): Started {
  const child = spawn('bash', ['--noprofile', '--norc', '-c', script], { cwd: ROOT, env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<number | null>((resolveExit) => child.once('exit', (code) => resolveExit(code)));
  return { child, output: () => output, exited };
}

/** Like Ctrl-C in the terminal that runs it: SIGINT to its process group, then SIGKILL for what is left. */
async function stopGroup(started: Started | undefined): Promise<void> {
  if (!started?.child.pid) return;
  const signalGroup = (signal: NodeJS.Signals | 0) => {
    try {
      process.kill(-started.child.pid!, signal);
      return true;
    } catch {
      return false; // the group is gone
    }
  };
  signalGroup('SIGINT');
  await eventually(() => (signalGroup(0) ? undefined : true), 'the process group to stop', 30_000, 200).catch(() => signalGroup('SIGKILL'));
}

/**
 * The README's walkthrough, run as a user pastes it into two fresh shells: the service with the
 * embedded PostgreSQL, then the commands that create an app, start the simulator and send a
 * notification, until the last command shows the message seen. Three things change from the text,
 * so that the run takes ports no one else uses and data of its own: ports 3000 and 4010 become free
 * ones, and `.data/` (where the service keeps its data) is a temporary directory, given to the
 * service as DATA_DIR.
 */
describe('README walkthrough', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'wa-readme-'));
  chmodSync(dataDir, 0o755); // as root, the embedded server runs as the postgres user
  let service: Started | undefined;
  let commands: Started | undefined;

  afterAll(async () => {
    await stopGroup(commands);
    await stopGroup(service);
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('runs as written, end to end, and its last command shows the message seen', async () => {
    const blocks = walkthroughBlocks(readFileSync(join(ROOT, 'README.md'), 'utf8'));
    expect(blocks).toHaveLength(2);
    const [servicePort, simulatorPort] = [await portOutsideEphemeralRange(), await portOutsideEphemeralRange()];
    const adapt = (block: string) =>
      block
        .replaceAll(':3000', `:${servicePort}`)
        .replaceAll('--port 4010', `--port ${simulatorPort}`)
        .replaceAll(':4010', `:${simulatorPort}`)
        .replaceAll('.data/', `${dataDir}/`);
    const [serviceBlock, commandsBlock] = blocks.map(adapt);
    expect(serviceBlock.trim()).toBe(`GUPSHUP_API_BASE_URL=http://127.0.0.1:${simulatorPort} npm start`);

    // A user's shell: none of the test run's own variables (DATABASE_URL among them).
    const shellEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? dataDir, LANG: 'C.UTF-8' };
    service = startShell(serviceBlock, { ...shellEnv, PORT: String(servicePort), DATA_DIR: dataDir });
    const banner = await eventually(
      () => {
        const output = service!.output();
        if (service!.child.exitCode !== null) throw new Error(`the service stopped (exit ${service!.child.exitCode}):\n${output}`);
        return output.includes('whatsapp-notify is listening on') ? output : undefined;
      },
      'the service to print its banner (npm start builds first when the sources changed)',
      480_000,
      200,
    );
    // The banner names what the walkthrough relies on.
    expect(banner).toContain(`whatsapp-notify is listening on http://127.0.0.1:${servicePort}`);
    expect(banner).toContain(`http://127.0.0.1:${servicePort}/docs`);
    expect(banner).toMatch(new RegExp(`embedded PostgreSQL on 127\\.0\\.0\\.1:\\d+, data in ${dataDir}/postgres`));
    expect(banner).toContain(`Gupshup API:     http://127.0.0.1:${simulatorPort}`);
    expect(banner).toContain(`admin token:     generated now and kept in ${dataDir}/admin.token`);
    expect(banner).not.toContain(readFileSync(join(dataDir, 'admin.token'), 'utf8').trim());

    commands = startShell(commandsBlock, shellEnv);
    const code = await commands.exited;
    const output = commands.output();
    const answers = output
      .split('\n')
      .filter((line) => line.startsWith('{'))
      .map((line) => JSON.parse(line) as Record<string, unknown>);
    // Printed: the provider, the user, the notification, then the messages list twice (the app's JSON goes into a variable).
    if (code !== 0 || answers.length !== 5) {
      throw new Error(`exit ${code}; the commands printed:\n${output}\nthe simulator logged:\n${readLog(join(dataDir, 'simulator.log'))}`);
    }
    const [provider, user, notification, firstList, lastList] = answers;
    expect(provider).toMatchObject({ provider: 'gupshup_whatsapp', enabled: true });
    expect(user).toMatchObject({ identifier: 'alice', phoneNumber: '+919988776650' });
    expect(notification).toMatchObject({ messages: [{ recipient: 'alice', status: 'queued' }] });
    // The first list is read right after the send: the message may not be in the view yet, or be further on.
    expect(['queued', 'sent', 'delivered', 'seen', undefined]).toContain((firstList.data as { status: string }[])[0]?.status);
    // The last line printed is the last command's answer: the message, seen.
    expect(output.trimEnd().split('\n').pop()).toBe(JSON.stringify(lastList));
    const [message] = lastList.data as Record<string, unknown>[];
    expect(message).toMatchObject({ recipient: 'alice', status: 'seen', sentAt: expect.any(String), deliveredAt: expect.any(String), seenAt: expect.any(String) });
  }, 900_000);
});

function readLog(path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '(no log)';
  }
}
