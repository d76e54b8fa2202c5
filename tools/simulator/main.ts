/**
 * Runs the Gupshup simulator on its own: `npm run simulator -- --help`.
 */
import { CliUsageError, SIMULATOR_HELP, parseSimulatorArgs } from './cli';
import { ControlInputError } from './control-schemas';
import { createGupshupSimulator } from './gupshup-simulator';
import { maskUrl } from './log-format';

async function main(): Promise<void> {
  const command = parseSimulatorArgs(process.argv.slice(2));
  if (command.help) {
    process.stdout.write(SIMULATOR_HELP);
    return;
  }

  const simulator = createGupshupSimulator({
    ...command.options,
    log: (line) => process.stdout.write(`${new Date().toISOString()} ${line}\n`),
  });
  const baseUrl = await simulator.listen(command.port, command.host);

  process.stdout.write(`Gupshup simulator listening on ${baseUrl} (set GUPSHUP_API_BASE_URL=${baseUrl})\n`);
  for (const app of simulator.apps()) {
    const callback = app.callbackUrl ? maskUrl(app.callbackUrl) : 'default callback URL';
    process.stdout.write(`  app ${app.srcName} source=${app.source} apikey=${app.apiKey} -> ${callback} (${app.callbackFormat ?? 'default format'})\n`);
  }
  const settings = simulator.settings();
  if (settings.acceptAnyKey) process.stdout.write('  accepting any apikey, source and src.name\n');
  process.stdout.write(
    `  callbacks: ${settings.defaultCallbackUrl ? maskUrl(settings.defaultCallbackUrl) : 'none by default'}, format ${settings.callbackFormat}\n`,
  );
  if (simulator.apps().length === 0 && !settings.acceptAnyKey) {
    process.stdout.write(`  no app registered: use --app, --accept-any-key or PUT ${baseUrl}/__simulator/apps/:apikey\n`);
  }

  const stop = (signal: NodeJS.Signals) => {
    process.stdout.write(`${signal}: closing\n`);
    simulator.close().then(
      () => process.exit(0),
      () => process.exit(1),
    );
  };
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
}

main().catch((error: unknown) => {
  const usage = error instanceof CliUsageError || error instanceof ControlInputError;
  process.stderr.write(`${error instanceof Error ? error.message : String(error)}\n${usage ? 'Run with --help for usage.\n' : ''}`);
  process.exit(usage ? 2 : 1);
});
