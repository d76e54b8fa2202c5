import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { formatNumber, met, RESULTS_DIR, type BenchmarkReport } from './report';

const RESULTS_FILE = resolve('bench', 'RESULTS.md');
const START = '<!-- figures:start (written by npm run bench) -->';
const END = '<!-- figures:end -->';
const ORDER = ['ingestion', 'projection-rebuild', 'dispatch', 'queries', 'webhooks', 'scaling'];

function table(report: BenchmarkReport): string {
  const lines = [
    `### ${report.benchmark}: ${report.postgres}`,
    '',
    `\`${report.command}\`, ${report.date.slice(0, 16).replace('T', ' ')} UTC; ${report.machine.cores} cores (${report.machine.cpu}), ${report.machine.memoryGiB} GiB, Node ${report.machine.node}.`,
    '',
    '| figure | measured | target | | baseline (same run) |',
    '|---|---|---|---|---|',
  ];
  for (const figure of report.figures) {
    const target = figure.target ? `${figure.target.op === '>=' ? '≥' : '≤'} ${formatNumber(figure.target.value)} ${figure.unit}` : '';
    const verdict = met(figure) === undefined ? '' : met(figure) ? 'met' : '**missed**';
    lines.push(`| ${figure.name} | ${formatNumber(figure.value)} ${figure.unit} | ${target} | ${verdict} | ${figure.baseline ?? ''} |`);
  }
  if (report.notes.length > 0) lines.push('', ...report.notes.map((note) => `- ${note}`));
  return lines.join('\n');
}

/** Rewrites the generated part of bench/RESULTS.md from bench/results/*.json; the rest of the file is kept. */
export function writeResultsFile(): void {
  const reports = existsSync(RESULTS_DIR)
    ? readdirSync(RESULTS_DIR)
        .filter((file) => file.endsWith('.json'))
        .map((file) => JSON.parse(readFileSync(join(RESULTS_DIR, file), 'utf8')) as BenchmarkReport)
    : [];
  reports.sort((a, b) => ORDER.indexOf(a.benchmark) - ORDER.indexOf(b.benchmark) || a.postgres.localeCompare(b.postgres));
  const generated = [START, '', ...reports.map(table).flatMap((block) => [block, '']), END].join('\n');
  const current = existsSync(RESULTS_FILE) ? readFileSync(RESULTS_FILE, 'utf8') : `# Benchmark results\n\n${START}\n${END}\n`;
  const from = current.indexOf(START);
  const to = current.indexOf(END);
  const next = from >= 0 && to > from ? current.slice(0, from) + generated + current.slice(to + END.length) : `${current.trimEnd()}\n\n${generated}\n`;
  writeFileSync(RESULTS_FILE, next);
}
