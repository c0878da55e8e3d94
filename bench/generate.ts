/**
 * A deterministic, seedable database generator for the benchmark. The rows are produced on the
 * page from a seeded PRNG and written by the worker through `vault.exec` batches (multi-row
 * INSERTs), so the same seed and size always give the same SQLite image.
 *
 * The mix aims at an app-like database with a gzip ratio near the ~2.2 the issue measured:
 * - `author`: a few thousand small rows with a UNIQUE email index;
 * - `doc`: prose-like text (words from a fixed vocabulary, Zipf-ish) and JSON-ish metadata,
 *   with indexes on (author_id, created_at) and title;
 * - `attachment`: random (incompressible) blobs, indexed by doc;
 * - scattered deletes of ~3% of docs and their attachments, so the file has free pages and
 *   half-empty leaves like a database that has lived a while.
 */
import type { Vault } from '../src/index';

/** A 32-bit PRNG (mulberry32): tiny, fast, and the same sequence for the same seed everywhere. */
export function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const SYLLABLES = ['ka', 'lo', 'mi', 'ne', 'ru', 'sa', 'to', 'vi', 'de', 'po', 'ga', 'shi', 'ber', 'ton', 'al', 'en', 'or', 'us'];

/** A fixed vocabulary of 2,000 pseudo-words, built from the PRNG so it is the same for every seed. */
const VOCABULARY: readonly string[] = (() => {
  const random = prng(0x5eed);
  const words: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const length = 1 + Math.floor(random() * 3);
    let word = '';
    for (let j = 0; j < length; j++) word += SYLLABLES[Math.floor(random() * SYLLABLES.length)];
    words.push(word);
  }
  return words;
})();

const TAGS = ['draft', 'review', 'final', 'archived', 'urgent', 'personal', 'shared', 'todo'] as const;
const MIMES = ['image/png', 'image/jpeg', 'application/pdf', 'application/octet-stream'] as const;

/** Rows per INSERT statement (5-6 parameters each, well under SQLite's variable limit). */
const ROWS_PER_BATCH = 200;
const AUTHORS = 2_000;

export interface GenerateOptions {
  /** Stop once the image reaches this many bytes. */
  readonly targetBytes: number;
  readonly seed: number;
  /** Called after each batch with the current image size. */
  readonly onProgress?: (sizeBytes: number) => void;
}

export interface GenerateResult {
  readonly sizeBytes: number;
  readonly docs: number;
  readonly attachments: number;
  readonly deleted: number;
  readonly durationMs: number;
}

/** A row source for one seed: each call continues the same deterministic stream. */
export class RowSource {
  private readonly random: () => number;
  constructor(seed: number) {
    this.random = prng(seed);
  }

  int(below: number): number {
    return Math.floor(this.random() * below);
  }

  /** Prose of about `bytes` bytes: Zipf-ish word choice, sentences, punctuation. */
  text(bytes: number): string {
    const parts: string[] = [];
    let length = 0;
    let sentence = 0;
    while (length < bytes) {
      // Squaring skews the choice towards frequent words, as natural text is.
      const r = this.random();
      let word = VOCABULARY[Math.floor(r * r * VOCABULARY.length)]!;
      if (sentence === 0) word = word[0]!.toUpperCase() + word.slice(1);
      sentence++;
      if (sentence > 6 + this.int(10)) {
        word += '.';
        sentence = 0;
      }
      parts.push(word);
      length += word.length + 1;
    }
    return parts.join(' ');
  }

  /** JSON-ish metadata text, as apps keep in a TEXT column. */
  meta(id: number): string {
    return JSON.stringify({
      id,
      tags: [TAGS[this.int(TAGS.length)], TAGS[this.int(TAGS.length)]],
      score: Math.round(this.random() * 10_000) / 100,
      pinned: this.random() < 0.1,
      geo: { lat: Math.round((this.random() * 180 - 90) * 1e5) / 1e5, lon: Math.round((this.random() * 360 - 180) * 1e5) / 1e5 },
      rev: this.int(50),
    });
  }

  /** `bytes` random (incompressible) bytes. */
  blob(bytes: number): Uint8Array {
    const out = new Uint8Array(bytes);
    const words = new Uint32Array(out.buffer, 0, bytes >>> 2);
    for (let i = 0; i < words.length; i++) words[i] = (this.random() * 4294967296) >>> 0;
    for (let i = words.length << 2; i < bytes; i++) out[i] = this.int(256);
    return out;
  }
}

const SCHEMA = `
CREATE TABLE IF NOT EXISTS author (id INTEGER PRIMARY KEY, name TEXT NOT NULL, email TEXT NOT NULL UNIQUE);
CREATE TABLE IF NOT EXISTS doc (id INTEGER PRIMARY KEY, author_id INTEGER NOT NULL, title TEXT NOT NULL, body TEXT NOT NULL, meta TEXT NOT NULL, created_at INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS doc_author_created ON doc (author_id, created_at);
CREATE INDEX IF NOT EXISTS doc_title ON doc (title);
CREATE TABLE IF NOT EXISTS attachment (id INTEGER PRIMARY KEY, doc_id INTEGER NOT NULL, mime TEXT NOT NULL, data BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS attachment_doc ON attachment (doc_id);
`;

/** The image size of the vault's database, in bytes. */
export async function imageBytes(vault: Vault): Promise<number> {
  const rows = await vault.query<{ n: number }>('SELECT page_count * page_size AS n FROM pragma_page_count, pragma_page_size');
  return rows[0]?.n ?? 0;
}

/**
 * Inserts `count` docs (and, for one doc in three, an attachment) starting after the current
 * maximum id. Returns how many attachments were written.
 */
export async function insertDocs(vault: Vault, source: RowSource, count: number): Promise<number> {
  const maxRows = await vault.query<{ n: number | null }>('SELECT max(id) AS n FROM doc');
  let next = (maxRows[0]?.n ?? 0) + 1;
  let attachments = 0;
  for (let done = 0; done < count; done += ROWS_PER_BATCH) {
    const rows = Math.min(ROWS_PER_BATCH, count - done);
    const docParams: (string | number)[] = [];
    const blobParams: (string | number | Uint8Array)[] = [];
    for (let i = 0; i < rows; i++, next++) {
      docParams.push(1 + source.int(AUTHORS), source.text(24 + source.int(40)), source.text(400 + source.int(1200)), source.meta(next), 1_600_000_000 + next * 37);
      if (next % 3 === 0) blobParams.push(next, MIMES[source.int(MIMES.length)]!, source.blob(512 + source.int(1024)));
    }
    await vault.exec(`INSERT INTO doc (author_id, title, body, meta, created_at) VALUES ${placeholders(rows, 5)}`, docParams);
    if (blobParams.length > 0) {
      await vault.exec(`INSERT INTO attachment (doc_id, mime, data) VALUES ${placeholders(blobParams.length / 3, 3)}`, blobParams);
      attachments += blobParams.length / 3;
    }
  }
  return attachments;
}

/**
 * Fills `vault` with a deterministic database of about `targetBytes`.
 * @example await generate(vault, { targetBytes: 100 * 2 ** 20, seed: 1 });
 */
export async function generate(vault: Vault, options: GenerateOptions): Promise<GenerateResult> {
  const started = performance.now();
  const source = new RowSource(options.seed);
  await vault.exec(SCHEMA);
  const authorParams: string[] = [];
  for (let i = 1; i <= AUTHORS; i++) authorParams.push(source.text(12), `user${i}@example.org`);
  for (let i = 0; i < AUTHORS; i += ROWS_PER_BATCH) {
    await vault.exec(`INSERT INTO author (name, email) VALUES ${placeholders(ROWS_PER_BATCH, 2)}`, authorParams.slice(i * 2, (i + ROWS_PER_BATCH) * 2));
  }
  let docs = 0;
  let attachments = 0;
  let deleted = 0;
  let size = await imageBytes(vault);
  // Grow in steps of ~2% of the target, deleting a few scattered rows after each step.
  const step = Math.max(ROWS_PER_BATCH, Math.round(options.targetBytes / 1500 / 50 / ROWS_PER_BATCH) * ROWS_PER_BATCH);
  while (size < options.targetBytes) {
    attachments += await insertDocs(vault, source, step);
    docs += step;
    const victims = Array.from({ length: Math.ceil(step * 0.03) }, () => 1 + source.int(docs));
    await vault.exec(`DELETE FROM attachment WHERE doc_id IN (${victims.join(',')})`);
    deleted += (await vault.exec(`DELETE FROM doc WHERE id IN (${victims.join(',')})`)).changes;
    size = await imageBytes(vault);
    options.onProgress?.(size);
  }
  return { sizeBytes: size, docs: docs - deleted, attachments, deleted, durationMs: performance.now() - started };
}

function placeholders(rows: number, columns: number): string {
  const row = `(${new Array(columns).fill('?').join(',')})`;
  return new Array(rows).fill(row).join(',');
}
