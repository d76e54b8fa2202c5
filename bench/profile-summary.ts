/**
 * Summarises a V8 .cpuprofile (from BENCH_CPU_PROFILE=1): self time by function and by package,
 * and total time (the function or anything it called) by function, so that a profile can be read
 * and recorded without a browser. When the benchmark recorded the window that matters beside the
 * profile (<name>.window.json, the load of the ingestion benchmark), only samples taken in it
 * count.
 * Usage: node -r @swc-node/register bench/profile-summary.ts bench/profiles/<file>.cpuprofile [top]
 */
import { existsSync, readFileSync } from 'node:fs';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
  startTime: number;
}

function packageOf(url: string): string {
  if (!url) return '(native/idle)';
  const match = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (match) return match[1];
  if (url.startsWith('node:')) return 'node';
  const src = /\/(src\/[^/]+(?:\/[^/]+)?)/.exec(url);
  return src ? src[1] : url;
}

function frameName(node: ProfileNode): string {
  const { functionName, url, lineNumber } = node.callFrame;
  return `${functionName || '(anonymous)'} ${url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/(dist|src)\//, '$1/')}:${lineNumber + 1}`;
}

/** The sampled time window to keep, from <profile>.window.json when the benchmark wrote one. */
function windowOf(file: string): { fromUs: number; toUs: number } | undefined {
  const windowFile = file.replace(/\.cpuprofile$/, '.window.json');
  return existsSync(windowFile) ? (JSON.parse(readFileSync(windowFile, 'utf8')) as { fromUs: number; toUs: number }) : undefined;
}

function main(): void {
  const [file, topArg] = process.argv.slice(2);
  if (!file) throw new Error('usage: profile-summary.ts <file.cpuprofile> [top]');
  const top = Number(topArg ?? 25);
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const window = windowOf(file);
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);

  const selfTime = new Map<number, number>();
  let at = profile.startTime;
  profile.samples.forEach((id, index) => {
    const delta = profile.timeDeltas[index] ?? 0;
    at += delta;
    if (window && (at < window.fromUs || at > window.toUs)) return;
    selfTime.set(id, (selfTime.get(id) ?? 0) + delta);
  });
  const total = [...selfTime.values()].reduce((a, b) => a + b, 0);
  const byFunction = new Map<string, number>();
  const byPackage = new Map<string, number>();
  const totalByFunction = new Map<string, number>();
  for (const [id, time] of selfTime) {
    const node = byId.get(id)!;
    const { functionName, url } = node.callFrame;
    byFunction.set(frameName(node), (byFunction.get(frameName(node)) ?? 0) + time);
    const pkg = packageOf(url) + (functionName === '(idle)' ? ' idle' : functionName === '(garbage collector)' ? ' gc' : '');
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + time);
    // Each function on the sample's stack once (recursion counted once).
    const onStack = new Set<string>();
    for (let current: number | undefined = id; current !== undefined; current = parentOf.get(current)) onStack.add(frameName(byId.get(current)!));
    for (const name of onStack) totalByFunction.set(name, (totalByFunction.get(name) ?? 0) + time);
  }
  const print = (title: string, entries: Map<string, number>) => {
    process.stdout.write(`\n${title}\n`);
    for (const [name, time] of [...entries].sort((a, b) => b[1] - a[1]).slice(0, top)) {
      process.stdout.write(`${((100 * time) / total).toFixed(1).padStart(5)}%  ${(time / 1000).toFixed(0).padStart(7)} ms  ${name}\n`);
    }
  };
  const span = window ? `, in the recorded window of ${((window.toUs - window.fromUs) / 1e6).toFixed(1)} s` : '';
  process.stdout.write(`${file}: ${(total / 1e6).toFixed(1)} s sampled${span}\n`);
  print('self time by package', byPackage);
  print('self time by function', byFunction);
  totalByFunction.delete('(root) :0');
  print('total time by function (itself and what it called)', totalByFunction);
}

main();
