import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { machineInfo, type MachineInfo } from './machine';
import { serverLabel, type BenchPostgres } from './postgres';

export interface Figure {
  name: string;
  value: number;
  unit: string;
  /** The target, when the issue sets one: at least (>=) or at most (<=) this. */
  target?: { op: '>=' | '<='; value: number };
  /** What it was compared with, in words, e.g. "no-op endpoint 21,400 req/s (ratio 0.62)". */
  baseline?: string;
}

export interface BenchmarkReport {
  benchmark: string;
  /** The server the run used: DATABASE_URL's or the embedded default, with its version. */
  postgres: string;
  command: string;
  date: string;
  machine: MachineInfo;
  figures: Figure[];
  notes: string[];
}

export const RESULTS_DIR = resolve('bench', 'results');

export function met(figure: Figure): boolean | undefined {
  if (!figure.target) return undefined;
  return figure.target.op === '>=' ? figure.value >= figure.target.value : figure.value <= figure.target.value;
}

export function formatNumber(value: number): string {
  if (Math.abs(value) >= 100) return Math.round(value).toLocaleString('en-US');
  if (Math.abs(value) >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function formatFigure(figure: Figure): string {
  const target = figure.target ? `target ${figure.target.op === '>=' ? '≥' : '≤'} ${formatNumber(figure.target.value)} ${figure.unit}` : 'no target';
  const verdict = met(figure) === undefined ? '' : met(figure) ? 'MET' : 'MISSED';
  return `${figure.name}: ${formatNumber(figure.value)} ${figure.unit} | ${target} ${verdict}${figure.baseline ? ` | baseline: ${figure.baseline}` : ''}`;
}

/** Prints the figures and keeps them as bench/results/<benchmark>-<server>.json for RESULTS.md. */
export function publish(report: BenchmarkReport): void {
  process.stdout.write(`\n== ${report.benchmark} (${report.postgres}) ==\n`);
  for (const figure of report.figures) process.stdout.write(`  ${formatFigure(figure)}\n`);
  for (const note of report.notes) process.stdout.write(`  note: ${note}\n`);
  mkdirSync(RESULTS_DIR, { recursive: true });
  const server = report.postgres.startsWith('embedded') ? 'embedded' : 'database-url';
  writeFileSync(join(RESULTS_DIR, `${report.benchmark}-${server}.json`), `${JSON.stringify(report, null, 2)}\n`);
}

/** publish() for a run of `npm run bench -- <benchmark>` on this machine, now. */
export function publishRun(benchmark: string, postgres: BenchPostgres, figures: Figure[], notes: string[]): void {
  publish({ benchmark, postgres: serverLabel(postgres), command: `npm run bench -- ${benchmark}`, date: new Date().toISOString(), machine: machineInfo(), figures, notes });
}
