/**
 * The text check of a partial-backup row filter, before SQLite sees it: a filter is the body of a
 * `WHERE` clause, one expression, nothing else.
 *
 * Invariants (on SQLite's own tokens, see ./sql-lexer.ts, so a comment or a TCL-style variable
 * such as `$x(')=1) OR 1; DROP ...')` hides nothing):
 * - No `;`, no bound variable of any form, no token SQLite would reject, no comment left open.
 * - Parentheses never close below the level the filter starts at, and end balanced: the filter
 *   cannot close the `WHERE (...)` it is placed in.
 * - No word that starts a statement or writes (`DROP`, `INSERT`, `ATTACH`, `PRAGMA`, ...) and no
 *   `load_extension`: none of them belongs in an expression.
 * SQLite then compiles the wrapped SELECT (in the sandbox) and it must be exactly one statement.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { meaningful, tokenize } from './sql-lexer';

/** Words that never appear in a WHERE expression (column names that spell them must be quoted anyway). */
const FORBIDDEN_WORDS = new Set([
  'ALTER', 'ANALYZE', 'ATTACH', 'BEGIN', 'COMMIT', 'CREATE', 'DELETE', 'DETACH', 'DROP', 'END', 'INSERT', 'LOAD_EXTENSION',
  'PRAGMA', 'REINDEX', 'RELEASE', 'RETURNING', 'ROLLBACK', 'SAVEPOINT', 'TRANSACTION', 'UPDATE', 'UPSERT', 'VACUUM',
]);

/** Longest filter accepted: a WHERE clause, not a program. */
export const MAX_FILTER_CHARS = 10_000;

function invalid(table: string, why: string): PagevaultError {
  return new PagevaultError(ErrorCode.INVALID_ARGUMENT, `The filter for table ${table} ${why}. A filter is one SQL expression, the body of a WHERE clause.`, {
    table,
    argument: 'tables',
  });
}

/**
 * Checks that `filter` can only be one expression.
 * @throws INVALID_ARGUMENT
 */
export function checkFilterText(table: string, filter: string): void {
  if (filter.length > MAX_FILTER_CHARS) throw invalid(table, `is longer than ${MAX_FILTER_CHARS} characters`);
  for (const token of tokenize(filter)) {
    // A block comment is closed only by a `*/` after its `/*` (`/*/` is still open).
    const open = token.kind === 'comment' && token.text.startsWith('/*') && (token.text.length < 4 || !token.text.endsWith('*/'));
    if (open) throw invalid(table, 'leaves a comment open');
  }
  const tokens = meaningful(filter);
  if (tokens.length === 0) throw invalid(table, 'is empty');
  let depth = 0;
  for (const token of tokens) {
    switch (token.kind) {
      case 'illegal':
        throw invalid(table, `has a token SQLite cannot read (${token.text.slice(0, 20)})`);
      case 'semicolon':
        throw invalid(table, 'has a ";"');
      case 'variable':
        throw invalid(table, `has a bound variable (${token.text.slice(0, 20)}); filters take literal values`);
      case 'open':
        depth++;
        break;
      case 'close':
        if (--depth < 0) throw invalid(table, 'closes a parenthesis it did not open');
        break;
      case 'word':
        if (FORBIDDEN_WORDS.has(token.text.toUpperCase())) throw invalid(table, `uses ${token.text}, which has no place in an expression`);
        break;
      default:
        break;
    }
  }
  if (depth !== 0) throw invalid(table, 'leaves a parenthesis open');
}
