/**
 * Node-side commands for the browser suite (vitest `browser.commands`): run the pagevault CLI and
 * Debian's `sqlite3` on files made in Chromium, and hand files made in Node back to the page.
 * Bytes cross as base64 strings.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import type { BrowserCommand } from 'vitest/node';
import { main } from '../../bin/pagevault';

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
  /** Files present in the working folder afterwards, base64. */
  readonly files: Record<string, string>;
}

/** Runs `fn` in a fresh temporary folder and removes the folder afterwards, whatever `fn` does. */
async function inTempDir<T>(prefix: string, fn: (dir: string) => T | Promise<T>): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Runs `pagevault` with `args` (`{dir}` is replaced by a fresh folder holding `files`). */
const pagevaultCli: BrowserCommand<[args: string[], files: Record<string, string>]> = (_ctx, args, files) =>
  inTempDir('pv-cli-', async (dir) => {
    for (const [name, base64] of Object.entries(files)) writeFileSync(join(dir, name), Buffer.from(base64, 'base64'));
    let stdout = '';
    let stderr = '';
    const code = await main(
      args.map((a) => a.replaceAll('{dir}', dir)),
      {
        stdout: (t) => {
          stdout += t;
        },
        stderr: (t) => {
          stderr += t;
        },
        stderrIsTTY: false,
      },
    );
    const out: Record<string, string> = {};
    for (const name of readdirSync(dir)) out[name] = readFileSync(join(dir, name)).toString('base64');
    return { code, stdout, stderr, files: out } satisfies CliRun;
  });

/** Runs Debian's sqlite3 shell on a database made from `file` (a .sqlite, .sqlite.gz or .sql). */
const sqlite3: BrowserCommand<[kind: 'sqlite' | 'sqlite.gz' | 'sql', base64: string, sql: string]> = (_ctx, kind, base64, sql) =>
  inTempDir('pv-sqlite3-', (dir) => {
    const db = join(dir, 'db.sqlite');
    const bytes = Buffer.from(base64, 'base64');
    if (kind === 'sql') {
      writeFileSync(join(dir, 'dump.sql'), bytes);
      execFileSync('sqlite3', [db, `.read ${join(dir, 'dump.sql')}`]);
    } else {
      writeFileSync(db, kind === 'sqlite.gz' ? gunzipSync(bytes) : bytes);
    }
    return execFileSync('sqlite3', ['-json', db, sql], { encoding: 'utf8' });
  });

/** A database written by Debian's sqlite3 shell, in every upload format, and what the shell answers to `query` on it. */
export interface ShellDatabase {
  readonly sqlite: string;
  readonly gz: string;
  readonly sql: string;
  /** `sqlite3 -json` output of the query. */
  readonly answer: string;
}

/** Runs `script` in the sqlite3 shell on a new file; returns the file (no -wal beside it), gzip'd, its `.dump`, and an answer. */
const sqlite3Make: BrowserCommand<[script: string, query: string]> = async (_ctx, script, query) => {
  const dir = mkdtempSync(join(tmpdir(), 'pv-shell-'));
  const db = join(dir, 'shell.sqlite');
  execFileSync('sqlite3', [db], { input: script });
  try {
    const bytes = readFileSync(db);
    return {
      sqlite: bytes.toString('base64'),
      gz: gzipSync(bytes).toString('base64'),
      sql: Buffer.from(execFileSync('sqlite3', [db, '.dump'], { maxBuffer: 1 << 28 })).toString('base64'),
      answer: execFileSync('sqlite3', ['-json', db, query], { encoding: 'utf8', maxBuffer: 1 << 28 }),
    } satisfies ShellDatabase;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

export const nodeCommands = { pagevaultCli, sqlite3, sqlite3Make };
