import { Writable } from 'node:stream';

export type LogLine = Record<string, unknown> & { level: string; message: string; context?: string };

/**
 * A log destination for startTestApp (`logDestination`) that keeps what the service writes:
 * the text as written, and its lines as JSON objects (LOG_FORMAT=json; a line that is not JSON
 * fails the test that reads them).
 */
export function captureLog() {
  const chunks: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer | string, _encoding, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const text = () => chunks.join('');
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line !== '')
      .map((line) => JSON.parse(line) as LogLine);
  return { stream, text, lines };
}
