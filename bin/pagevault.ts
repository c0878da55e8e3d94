/**
 * The pagevault CLI: inspect, verify, extract and create backup files outside the browser.
 * `main(argv, io)` is the whole program and returns the exit code; bin/cli.ts is the launcher.
 *
 * Exit codes: 0 success, 1 the file is bad (or cannot be opened with what was given: a wrong
 * passphrase, credentials the remote refuses), 2 usage error (unknown command or option, missing
 * argument, output exists without --force, a named file, folder or remote backup that is missing,
 * a folder, or not accessible), 3 the remote could not be reached (REMOTE_UNAVAILABLE: try again).
 */
import { readFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { ErrorCode, PagevaultError, isPagevaultError } from '../src/errors';
import type { ArchiveKeyCache } from '../src/format/archive/crypto';
import { streamImageArchive } from '../src/format/archive/from-image';
import { parseSqliteHeader } from '../src/format/sqlite-header';
import { fsError, USER_MISTAKES } from './fs-errors';
import { inspectFile, kindOf, loadImage, openFile, rawImage } from './images';
import type { LoadContext } from './images';
import { refuseUnsafeCopy } from './live-journal';
import { checkTarget, writeOutput } from './output-file';
import { checkImage } from './sqlite-check';
import { sha256HexInPlace } from './hash';
import { REMOTE_COMMANDS, runRemote, type RemoteCommand } from './remote';

/** Where the CLI writes; tests pass string collectors. */
export interface CliIo {
  stdout(text: string): void;
  stderr(text: string): void;
  /** Progress is drawn on stderr only when it is a terminal. */
  readonly stderrIsTTY: boolean;
  /** Where the remote commands find AWS_* credentials (default: process.env). */
  readonly env?: Readonly<Record<string, string | undefined>>;
}

export const USAGE = `usage:
  pagevault inspect FILE [--passphrase-file F] [--json]
  pagevault verify FILE [--passphrase-file F] [--require-encrypted] [--base FILE]... [--json]
  pagevault extract FILE -o OUT.sqlite [--passphrase-file F] [--require-encrypted] [--base FILE]... [--force] [--json]
  pagevault create DB.sqlite -o OUT.pvault [--since BASE] [--base FILE]... [--passphrase-file F] [--note TEXT] [--force] [--json]
  pagevault remote list REMOTE [--endpoint URL] [--region R] [--passphrase-file F] [--json]
  pagevault remote verify REMOTE [BACKUP_ID] [--endpoint URL] [--region R] [--passphrase-file F] [--json]
  pagevault remote extract REMOTE BACKUP_ID -o OUT.sqlite [--endpoint URL] [--region R] [--passphrase-file F] [--force] [--json]
FILE may be a pagevault archive, a .sqlite or a .sqlite.gz file. REMOTE is s3://bucket/prefix/
(keys from AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN) or a folder holding a copy.
`;

const INSPECT_KEYS = {
  format: null, version: null, createdAt: null, note: null, method: null, pageSize: null, pageCount: null, sizeBytes: null,
  sha256: null, sqliteVersion: null, userVersion: null, tables: null, encrypted: null, base: null,
};

interface Args {
  readonly command: string;
  /** For `remote`: list, verify or extract. */
  readonly sub?: RemoteCommand;
  readonly file: string;
  /** Positional arguments after FILE (a remote BACKUP_ID). */
  readonly more: readonly string[];
  readonly json: boolean;
  readonly force: boolean;
  readonly requireEncrypted: boolean;
  readonly out?: string;
  readonly passphraseFile?: string;
  readonly since?: string;
  readonly note?: string;
  readonly endpoint?: string;
  readonly region?: string;
  readonly bases: string[];
}

const usage = (message: string): never => {
  throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, message, { usage: true });
};

const FLAGS: ReadonlySet<string> = new Set(['--json', '--force', '--require-encrypted']);
const ALLOWED: Record<string, readonly string[]> = {
  inspect: ['--json', '--passphrase-file'],
  verify: ['--json', '--passphrase-file', '--base', '--require-encrypted'],
  extract: ['--json', '--passphrase-file', '--base', '-o', '--force', '--require-encrypted'],
  create: ['--json', '--passphrase-file', '--base', '-o', '--force', '--since', '--note'],
  'remote list': ['--json', '--passphrase-file', '--endpoint', '--region'],
  'remote verify': ['--json', '--passphrase-file', '--endpoint', '--region'],
  'remote extract': ['--json', '--passphrase-file', '--endpoint', '--region', '-o', '--force'],
};
/** How many positional arguments each command takes (at least, at most). */
const POSITIONAL: Record<string, readonly [number, number]> = { 'remote list': [1, 1], 'remote verify': [1, 2], 'remote extract': [2, 2] };

function parseArgs(argv: readonly string[]): Args {
  let [command, ...rest] = argv;
  let sub: RemoteCommand | undefined;
  if (command === 'remote') {
    const name = rest.shift();
    if (!REMOTE_COMMANDS.includes(name as RemoteCommand)) usage(name === undefined ? 'remote needs list, verify or extract.' : `Unknown remote command "${name}".`);
    sub = name as RemoteCommand;
    command = `remote ${sub}`;
  }
  // Two-word commands are reached only through `remote` (never one argument with a space in it).
  if (command === undefined || !(command in ALLOWED) || (sub === undefined && command.includes(' '))) usage(command === undefined ? 'No command given.' : `Unknown command "${command}".`);
  const allowed = ALLOWED[command!]!;
  const positional: string[] = [];
  const values: Record<string, string> = {};
  const bases: string[] = [];
  const flags = new Set<string>();
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i]!;
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    if (!allowed.includes(arg)) usage(`Unknown option ${arg} for ${command}.`);
    if (FLAGS.has(arg)) {
      flags.add(arg);
      continue;
    }
    const value = rest[++i];
    if (value === undefined) usage(`${arg} needs a value.`);
    if (arg === '--base') bases.push(value!);
    else if (arg in values) usage(`${arg} given twice.`);
    else values[arg] = value!;
  }
  const [least, most] = POSITIONAL[command!] ?? [1, 1];
  if (positional.length < least || positional.length > most) {
    usage(sub === undefined ? `${command} takes exactly one FILE.` : `${command} takes ${sub === 'list' ? 'REMOTE' : sub === 'verify' ? 'REMOTE [BACKUP_ID]' : 'REMOTE BACKUP_ID'}.`);
  }
  if ((command === 'extract' || command === 'create' || command === 'remote extract') && values['-o'] === undefined) usage(`${command} needs -o OUT.`);
  return {
    command: command!,
    ...(sub === undefined ? {} : { sub }),
    file: positional[0]!,
    more: positional.slice(1),
    json: flags.has('--json'),
    force: flags.has('--force'),
    requireEncrypted: flags.has('--require-encrypted'),
    bases,
    ...(values['-o'] === undefined ? {} : { out: values['-o'] }),
    ...(values['--passphrase-file'] === undefined ? {} : { passphraseFile: values['--passphrase-file'] }),
    ...(values['--since'] === undefined ? {} : { since: values['--since'] }),
    ...(values['--note'] === undefined ? {} : { note: values['--note'] }),
    ...(values['--endpoint'] === undefined ? {} : { endpoint: values['--endpoint'] }),
    ...(values['--region'] === undefined ? {} : { region: values['--region'] }),
  };
}

/**
 * Reads a passphrase file: strict UTF-8 (bytes that are not would all decode to U+FFFD, so
 * different files would be one passphrase), a leading byte order mark dropped (editors add one),
 * and one trailing newline (LF or CRLF) is not part of the passphrase. (The KDF normalises it to
 * NFC, as everywhere a passphrase is used.)
 * @throws FILE_NOT_FOUND, IS_A_DIRECTORY, PERMISSION_DENIED; INVALID_ARGUMENT when it is empty or not UTF-8.
 */
async function readPassphrase(path: string): Promise<string> {
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (error) {
    throw fsError(error, 'read the passphrase file', path);
  }
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: false }).decode(bytes);
  } catch {
    throw new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The passphrase file ${path} is not UTF-8 text; save it as UTF-8.`, { path });
  }
  const passphrase = text.replace(/\r?\n$/, '');
  if (passphrase.length === 0) usage(`The passphrase file ${path} is empty.`);
  return passphrase;
}

async function run(args: Args, io: CliIo): Promise<unknown> {
  // A bad -o fails now, not after minutes of decryption (it is checked again when written).
  if (args.out !== undefined) await checkTarget(args.out, args.force);
  const keyCache: ArchiveKeyCache = new Map();
  const context: LoadContext = {
    ...(args.passphraseFile === undefined ? {} : { passphrase: await readPassphrase(args.passphraseFile) }),
    keyCache,
    requireEncrypted: args.requireEncrypted,
    bases: args.bases,
    progress: (done, total) => {
      if (io.stderrIsTTY) io.stderr(`\rchunk ${done}/${total}${done === total ? '\n' : ''}`);
    },
  };
  if (args.sub !== undefined) {
    return runRemote({
      command: args.sub,
      location: args.file,
      ...(args.more[0] === undefined ? {} : { backupId: args.more[0] }),
      ...(args.out === undefined ? {} : { out: args.out }),
      force: args.force,
      ...(context.passphrase === undefined ? {} : { passphrase: context.passphrase }),
      ...(args.endpoint === undefined ? {} : { endpoint: args.endpoint }),
      ...(args.region === undefined ? {} : { region: args.region }),
      env: io.env ?? process.env,
      progress: context.progress,
    });
  }
  switch (args.command) {
    case 'inspect':
      // Every documented key is present in --json output; absent facts are null.
      return { ...INSPECT_KEYS, ...(await inspectFile(args.file, context.passphrase, keyCache)) };
    case 'verify': {
      const loaded = await loadImage(args.file, context);
      const { tables } = await checkImage(loaded.image);
      return { ok: true, format: loaded.format, encrypted: loaded.encrypted, sha256: loaded.sha256, sizeBytes: loaded.image.length, integrity: 'ok', tables };
    }
    case 'extract':
      // Each verified chunk goes to the temporary file as it is read; the target appears only
      // after the image hash and integrity_check pass.
      return writeOutput(args.out!, args.force, async (out) => {
        const loaded = await loadImage(args.file, context, (bytes) => out.write([bytes]));
        const { tables } = await checkImage(loaded.image);
        return { ok: true, out: args.out, encrypted: loaded.encrypted, sha256: loaded.sha256, sizeBytes: loaded.image.length, tables };
      });
    case 'create':
      return create(args, context);
    default:
      return usage(`Unknown command "${args.command}".`);
  }
}

/** `create`: a consistent, intact SQLite file only (no live -wal/-journal, integrity_check ok), streamed into the archive. */
async function create(args: Args, context: LoadContext): Promise<unknown> {
  const source = await openFile(args.file);
  let image: Uint8Array;
  try {
    const kind = await kindOf(source);
    if (kind !== 'sqlite') usage(`create reads a plain SQLite file; ${args.file} is ${kind === 'gzip' ? 'sqlite.gz' : kind}.`);
    await refuseUnsafeCopy(args.file);
    image = await rawImage(args.file, kind, source.size);
  } finally {
    await source.close();
  }
  // A damaged database must never become a backup that fails only the day it is needed.
  const { tables } = await checkImage(image);
  const base = args.since === undefined ? undefined : (await loadImage(args.since, context)).image;
  if (base !== undefined && parseSqliteHeader(base).pageSize !== parseSqliteHeader(image).pageSize) {
    throw new PagevaultError(ErrorCode.CHAIN, 'The --since base has another page size; make a full backup instead.');
  }
  const sha256 = sha256HexInPlace(image);
  const name = basename(args.file).replace(/\.(sqlite3?|db)$/i, '') || 'database';
  const archiveBytes = await writeOutput(args.out!, args.force, (out) =>
    streamImageArchive(
      image,
      { name, createdAt: Date.now(), method: 'cli', tables, ...(args.note === undefined ? {} : { note: args.note }) },
      { imageSha256: sha256, ...(context.passphrase === undefined ? {} : { passphrase: context.passphrase }), ...(base === undefined ? {} : { base }) },
      (parts) => out.write(parts),
    ),
  );
  return { ok: true, out: args.out, sha256, sizeBytes: image.length, archiveBytes, incremental: base !== undefined, encrypted: context.passphrase !== undefined };
}

/**
 * Runs the CLI and returns its exit code; never throws.
 * @example process.exitCode = await main(process.argv.slice(2), { stdout: (t) => process.stdout.write(t), stderr: (t) => process.stderr.write(t), stderrIsTTY: process.stderr.isTTY });
 */
export async function main(argv: readonly string[], io: CliIo): Promise<number> {
  let json = argv.includes('--json');
  try {
    if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h') {
      io.stdout(USAGE);
      return argv.length === 0 ? 2 : 0;
    }
    const args = parseArgs(argv);
    json = args.json;
    const result = await run(args, io);
    io.stdout(json ? `${JSON.stringify(result)}\n` : human(result));
    // A report that found a bad backup among several (remote verify) is printed whole, then fails.
    return (result as { ok?: unknown }).ok === false ? 1 : 0;
  } catch (error) {
    const known = isPagevaultError(error);
    const code = known ? error.code : ErrorCode.INTERNAL;
    const message = known ? error.message : `Unexpected error: ${error instanceof Error ? error.message : String(error)}`;
    io.stderr(`error ${code}: ${message}\n`);
    const isUsage = known && error.details['usage'] === true;
    if (isUsage && !json) io.stderr(USAGE);
    if (json) io.stdout(`${JSON.stringify({ error: { code, message } })}\n`);
    if (code === ErrorCode.REMOTE_UNAVAILABLE) return 3;
    return isUsage || USER_MISTAKES.has(code) || code === ErrorCode.NOT_FOUND ? 2 : 1;
  }
}

/** Plain-text rendering: one `key: value` line per field. */
function human(result: unknown): string {
  const lines: string[] = [];
  for (const [key, value] of Object.entries(result as Record<string, unknown>)) {
    if (key === 'backups' && Array.isArray(value)) {
      lines.push(`backups: ${value.length}`);
      for (const b of value as Record<string, unknown>[]) lines.push(`  ${backupLine(b)}`);
    } else if (key === 'tables' && Array.isArray(value)) {
      lines.push(`tables: ${(value as { name: string; rows: number }[]).map((t) => `${t.name} (${t.rows} rows)`).join(', ') || '(none)'}`);
    } else if (key === 'createdAt' && typeof value === 'number') {
      lines.push(`createdAt: ${new Date(value).toISOString()}`);
    } else if (value !== undefined && value !== null) {
      lines.push(`${key}: ${typeof value === 'object' ? JSON.stringify(value) : String(value)}`);
    }
  }
  return `${lines.join('\n')}\n`;
}

/** One backup of a remote listing or report on one line. */
function backupLine(b: Record<string, unknown>): string {
  if (b['ok'] === false) return `FAILED ${String(b['backupId'] ?? b['object'])}: ${(b['error'] as { code: string }).code}`;
  const when = typeof b['createdAt'] === 'number' ? new Date(b['createdAt']).toISOString() : '';
  const tables = Array.isArray(b['tables']) ? (b['tables'] as { name: string; rows: number }[]).map((t) => `${t.name} (${t.rows})`).join(', ') : '';
  return [b['ok'] === true ? 'ok' : '', String(b['backupId']), when, `${String(b['sizeBytes'])} bytes`, tables, b['note'] === undefined ? '' : `"${String(b['note'])}"`].filter(Boolean).join('  ');
}
