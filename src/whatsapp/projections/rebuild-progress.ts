import { Presets, SingleBar } from 'cli-progress';
import type { RebuildProgress } from './projection-rebuilder';

export interface RebuildProgressReporter {
  update(progress: RebuildProgress): void;
  /** Ends the output, also when the rebuild failed. */
  stop(): void;
}

const percent = (read: number, total: number) => (total > 0 ? Math.floor((read * 100) / total) : 100);
const catchingUp = (projection: string) => `${projection}: every stream read; catching up with the events committed since the rebuild began\n`;

/** A progress bar for a person at a terminal, redrawn in place. */
export class ProgressBarReporter implements RebuildProgressReporter {
  private bar?: SingleBar;

  constructor(private readonly out: NodeJS.WriteStream) {}

  update(update: RebuildProgress): void {
    if (update.phase === 'catching-up') {
      this.stop();
      this.out.write(catchingUp(update.projection));
      return;
    }
    const { eventsRead, eventsToRead, chunks } = update.progress;
    if (eventsToRead === 0) {
      if (chunks === 0) this.out.write(`${update.projection}: no events to read\n`);
      return;
    }
    if (!this.bar) {
      this.bar = new SingleBar(
        { stream: this.out, format: `${update.projection} [{bar}] {percentage}% | {value}/{total} events | {eta_formatted} left`, hideCursor: true },
        Presets.shades_classic,
      );
      this.bar.start(eventsToRead, eventsRead);
    } else this.bar.update(eventsRead);
  }

  stop(): void {
    this.bar?.stop();
    this.bar = undefined;
  }
}

/**
 * One line at a time, for a log or a pipe: where the rebuild starts, at most one line a
 * `intervalMs` while it reads, and where it ends.
 */
export class ProgressLineReporter implements RebuildProgressReporter {
  private lastLineAt = 0;
  private lastShown = -1;
  private last?: { projection: string; eventsRead: number; eventsToRead: number };

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly intervalMs = 1000,
    private readonly now: () => number = Date.now,
  ) {}

  update(update: RebuildProgress): void {
    if (update.phase === 'catching-up') {
      this.flush();
      this.last = undefined;
      this.out.write(catchingUp(update.projection));
      return;
    }
    const { eventsRead, eventsToRead, chunks } = update.progress;
    this.last = { projection: update.projection, eventsRead, eventsToRead };
    if (chunks === 0) {
      this.out.write(`${update.projection}: reading ${eventsToRead} events, stream by stream\n`);
      this.lastLineAt = this.now();
      this.lastShown = eventsRead;
    } else if (this.now() - this.lastLineAt >= this.intervalMs) this.flush();
  }

  stop(): void {
    this.flush();
  }

  private flush(): void {
    const last = this.last;
    if (!last || last.eventsRead === this.lastShown) return;
    this.out.write(`${last.projection}: ${last.eventsRead} of ${last.eventsToRead} events read (${percent(last.eventsRead, last.eventsToRead)}%)\n`);
    this.lastLineAt = this.now();
    this.lastShown = last.eventsRead;
  }
}
