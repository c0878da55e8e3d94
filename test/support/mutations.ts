/**
 * Random damage to a file, for the fuzz suites: bit flips, truncations, splices, records swapped,
 * duplicated or dropped, header fields overwritten (with small, extreme and random values), bytes
 * appended. Positions are drawn as fractions so one arbitrary serves files of any length.
 */
import fc from 'fast-check';
import { concat } from '../node/format-fixtures';

/** A byte range of the file that is one unit (an archive record), for record-level mutations. */
export interface Span {
  readonly offset: number;
  readonly length: number;
}

/** Where the interesting parts of a file are. */
export interface FileLayout {
  /** The header (field edits land here). */
  readonly header: Span;
  /** Records that can be swapped, duplicated or dropped. */
  readonly records: readonly Span[];
}

export type Mutation =
  | { readonly kind: 'flip'; readonly at: number; readonly bit: number }
  | { readonly kind: 'truncate'; readonly at: number }
  | { readonly kind: 'splice'; readonly at: number; readonly remove: number; readonly insert: Uint8Array }
  | { readonly kind: 'field'; readonly at: number; readonly width: 1 | 2 | 4; readonly value: number }
  | { readonly kind: 'swap'; readonly a: number; readonly b: number }
  | { readonly kind: 'duplicate'; readonly record: number }
  | { readonly kind: 'drop'; readonly record: number }
  | { readonly kind: 'append'; readonly bytes: Uint8Array };

/** A position in [0, 1), uniform over the file (fast-check's default bias would cluster at 0). */
const fraction = fc.noBias(fc.integer({ min: 0, max: 0xffff_ffff })).map((n) => n / 2 ** 32);
const extreme = fc.constantFrom(0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff);

export const mutationArb: fc.Arbitrary<Mutation> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('flip' as const), at: fraction, bit: fc.integer({ min: 0, max: 7 }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  {
    weight: 2,
    arbitrary: fc.record({ kind: fc.constant('splice' as const), at: fraction, remove: fc.integer({ min: 0, max: 64 }), insert: fc.uint8Array({ maxLength: 64 }) }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      kind: fc.constant('field' as const),
      at: fraction,
      width: fc.constantFrom(1 as const, 2 as const, 4 as const),
      value: fc.oneof(extreme, fc.nat()),
    }),
  },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('swap' as const), a: fraction, b: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('duplicate' as const), record: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('drop' as const), record: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('append' as const), bytes: fc.uint8Array({ minLength: 1, maxLength: 32 }) }) },
);

/** One to three mutations applied in turn. */
export const mutationsArb = fc.array(mutationArb, { minLength: 1, maxLength: 3 });

const pick = (f: number, n: number) => Math.min(n - 1, Math.floor(f * n));

/**
 * Applies one mutation. Record mutations use the layout of the original file; after a mutation
 * that moved bytes they still cut somewhere plausible, which is damage too.
 */
export function mutate(bytes: Uint8Array, m: Mutation, layout: FileLayout): Uint8Array {
  const n = bytes.length;
  if (n === 0) return m.kind === 'append' ? m.bytes : bytes;
  switch (m.kind) {
    case 'flip': {
      const out = bytes.slice();
      out[pick(m.at, n)]! ^= 1 << m.bit;
      return out;
    }
    case 'truncate':
      return bytes.subarray(0, pick(m.at, n));
    case 'splice': {
      const at = pick(m.at, n);
      return concat([bytes.subarray(0, at), m.insert, bytes.subarray(Math.min(n, at + m.remove))]);
    }
    case 'field': {
      const out = bytes.slice();
      const span = layout.header.length > 0 ? layout.header : { offset: 0, length: n };
      const at = span.offset + pick(m.at, span.length);
      for (let i = 0; i < m.width && at + i < n; i++) out[at + i] = (m.value >>> (8 * i)) & 0xff;
      return out;
    }
    case 'append':
      return concat([bytes, m.bytes]);
    default: {
      const records = layout.records.filter((r) => r.offset + r.length <= n);
      if (records.length === 0) return bytes;
      const piece = (r: Span) => bytes.subarray(r.offset, r.offset + r.length);
      if (m.kind === 'duplicate' || m.kind === 'drop') {
        const r = records[pick(m.record, records.length)]!;
        const tail = bytes.subarray(r.offset + r.length);
        return concat([bytes.subarray(0, r.offset + (m.kind === 'duplicate' ? r.length : 0)), m.kind === 'duplicate' ? piece(r) : new Uint8Array(0), tail]);
      }
      const [x, y] = [pick(m.a, records.length), pick(m.b, records.length)].sort((p, q) => p - q) as [number, number];
      if (x === y) return bytes;
      const a = records[x]!;
      const b = records[y]!;
      return concat([bytes.subarray(0, a.offset), piece(b), bytes.subarray(a.offset + a.length, b.offset), piece(a), bytes.subarray(b.offset + b.length)]);
    }
  }
}

export function mutateAll(bytes: Uint8Array, mutations: readonly Mutation[], layout: FileLayout): Uint8Array {
  return mutations.reduce((b, m) => mutate(b, m, layout), bytes);
}

/** Fuzz cases in CI across all fuzz properties; `PAGEVAULT_FUZZ_RUNS=100000 npm test` runs more. */
export const DEFAULT_FUZZ_CASES = 12_000;

/** This property's cases: `share` of the total (`PAGEVAULT_FUZZ_RUNS`, default {@link DEFAULT_FUZZ_CASES}). */
export function fuzzRuns(share: number): number {
  const total = Number(process.env['PAGEVAULT_FUZZ_RUNS'] ?? DEFAULT_FUZZ_CASES);
  return Math.max(1, Math.round(share * (Number.isFinite(total) && total > 0 ? total : DEFAULT_FUZZ_CASES)));
}
