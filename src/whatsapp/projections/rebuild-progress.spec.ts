import { PassThrough } from 'node:stream';
import { ProgressLineReporter } from './rebuild-progress';

function reporterWithClock() {
  const out = new PassThrough();
  const written: string[] = [];
  out.on('data', (chunk: Buffer) => written.push(...chunk.toString().split('\n').filter(Boolean)));
  let now = 0;
  const reporter = new ProgressLineReporter(out, 1000, () => now);
  return { reporter, written, tick: (ms: number) => (now += ms) };
}

const streams = (eventsRead: number, eventsToRead: number, chunks: number) =>
  ({ projection: 'views', phase: 'streams', progress: { eventsRead, eventsToRead, chunks } }) as const;

describe('ProgressLineReporter', () => {
  it('says where it starts, at most a line a second while reading, where the reading ends, and the catching up', async () => {
    const { reporter, written, tick } = reporterWithClock();
    reporter.update(streams(0, 30000, 0));
    tick(400);
    reporter.update(streams(10000, 30000, 1)); // under a second since the last line: not shown
    tick(700);
    reporter.update(streams(20000, 30000, 2));
    tick(10);
    reporter.update(streams(30000, 30000, 3));
    reporter.update({ projection: 'views', phase: 'catching-up' });
    reporter.stop();
    await new Promise(setImmediate);
    expect(written).toEqual([
      'views: reading 30000 events, stream by stream',
      'views: 20000 of 30000 events read (66%)',
      'views: 30000 of 30000 events read (100%)',
      'views: every stream read; catching up with the events committed since the rebuild began',
    ]);
  });

  it('shows where a failed rebuild stopped', async () => {
    const { reporter, written } = reporterWithClock();
    reporter.update(streams(0, 500, 0));
    reporter.update(streams(200, 500, 1));
    reporter.stop();
    await new Promise(setImmediate);
    expect(written).toEqual(['views: reading 500 events, stream by stream', 'views: 200 of 500 events read (40%)']);
  });
});
