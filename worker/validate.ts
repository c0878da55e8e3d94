/**
 * Argument checks at the worker boundary: the page may send anything, so every public method
 * checks its input here and answers `INVALID_ARGUMENT` with what was expected.
 */
import { ErrorCode, PagevaultError } from '../src/errors';
import type { SqlParams } from '../src/protocol';

function invalid(what: string, expected: string, got: unknown): PagevaultError {
  const shown = typeof got === 'string' ? JSON.stringify(got.slice(0, 60)) : typeof got;
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, `${what} must be ${expected} (got ${shown}).`, { argument: what });
}

/** A database name: 1-128 characters, no control characters. */
export function checkName(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128 || /[\u0000-\u001f]/.test(value)) {
    throw invalid(what, 'a string of 1-128 printable characters', value);
  }
  return value;
}

export function checkSql(value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw invalid('sql', 'a non-empty string', value);
  return value;
}

export function checkParams(value: unknown): SqlParams | undefined {
  if (value === undefined || value === null) return undefined;
  if (Array.isArray(value) || (typeof value === 'object' && !(value instanceof Uint8Array))) return value as SqlParams;
  throw invalid('params', 'an array or an object', value);
}

/** An id made by pagevault (backups, jobs) or chosen by the user (schedules). */
export function checkId(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length < 1 || value.length > 128) throw invalid(what, 'an id string', value);
  return value;
}

/**
 * An id that may become part of a remote object key (a remote name, a backup id): letters,
 * digits, `.`, `_`, `-`, and never `..`, so it can name no other object or folder.
 * @throws INVALID_ARGUMENT.
 */
export function checkKeyId(value: unknown, what: string): string {
  const id = checkId(value, what);
  if (!/^[A-Za-z0-9._-]+$/.test(id) || id.includes('..')) throw invalid(what, 'letters, digits, ".", "_" and "-" (no "..")', value);
  return id;
}

export function optionalInteger(value: unknown, what: string, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw invalid(what, `an integer from ${min} to ${max}`, value);
  }
  return value;
}

export function optionalString(value: unknown, what: string, maxLength = 1000): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value.length > maxLength) throw invalid(what, `a string of at most ${maxLength} characters`, value);
  return value;
}

export function optionalBoolean(value: unknown, what: string): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(what, 'true or false', value);
  return value;
}

export function oneOf<T extends string>(value: unknown, what: string, allowed: readonly T[], fallback: T): T {
  if (value === undefined) return fallback;
  if (typeof value !== 'string' || !allowed.includes(value as T)) throw invalid(what, `one of ${allowed.join(', ')}`, value);
  return value as T;
}
