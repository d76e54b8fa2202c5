import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

/** A build of the service to run a benchmark against: this checkout, or another commit's. */
export interface ServiceBuild {
  /** How reports name it: "this checkout" or the commit's short id. */
  label: string;
  /** Where dist/src/main.js is, and the working directory of the processes started from it. */
  dir: string;
  /** Removes what prepareCompareBuild made; nothing for this checkout. */
  remove(): void;
}

export const THIS_BUILD: ServiceBuild = { label: 'this checkout', dir: process.cwd(), remove: () => undefined };

function git(args: string[], cwd = process.cwd()): string {
  return execFileSync('git', args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).trim();
}

/**
 * Another commit of the service, built so that the same load can be run against it in the same
 * run (`BENCH_COMPARE_REF=<commit>`): checked out into a temporary git worktree, its dependencies
 * installed (this checkout's node_modules is linked instead when the lock files are identical),
 * and built with the build command of that commit.
 */
export function prepareCompareBuild(ref: string): ServiceBuild {
  const commit = git(['rev-parse', '--verify', `${ref}^{commit}`]);
  const label = git(['rev-parse', '--short', commit]);
  const dir = mkdtempSync(join(tmpdir(), `wa-bench-${label}-`));
  process.stdout.write(`  preparing ${ref} (${label}) in ${dir}\n`);
  git(['worktree', 'add', '--detach', dir, commit]);
  const remove = () => {
    try {
      git(['worktree', 'remove', '--force', dir]);
    } catch {
      rmSync(dir, { recursive: true, force: true });
      git(['worktree', 'prune']);
    }
  };
  try {
    const sameLock = execFileSyncQuiet('git', ['diff', '--quiet', commit, '--', 'package-lock.json']);
    if (sameLock && existsSync(resolve('node_modules'))) {
      symlinkSync(resolve('node_modules'), join(dir, 'node_modules'), 'dir');
    } else {
      execFileSync('npm', ['ci', '--no-audit', '--no-fund'], { cwd: dir, stdio: 'inherit' });
    }
    if (existsSync(join(dir, 'tools', 'build.mjs'))) execFileSync(process.execPath, ['tools/build.mjs'], { cwd: dir, stdio: 'inherit' });
    else execFileSync('npx', ['nest', 'build'], { cwd: dir, stdio: 'inherit' });
    if (!existsSync(join(dir, 'dist', 'src', 'main.js'))) throw new Error(`the build of ${ref} made no dist/src/main.js`);
  } catch (error) {
    remove();
    throw error;
  }
  return { label, dir, remove };
}

/** Whether the command exits with 0 (its output discarded). */
function execFileSyncQuiet(command: string, args: string[]): boolean {
  try {
    execFileSync(command, args, { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
