/**
 * What a SQL dump may run: an allow-list of the statements `sqlite3 .dump` (and pagevault's own
 * dump) emit, judged on SQLite's own tokens (./sql-lexer.ts), so a leading comment hides nothing.
 *
 * Allowed: `BEGIN`/`COMMIT`/`END`/`ROLLBACK`; `CREATE [UNIQUE] INDEX|TABLE|VIEW|TRIGGER|VIRTUAL
 * TABLE` (not `TEMP`, not `CREATE TABLE ... AS SELECT`); `INSERT INTO` (also after a `WITH`); a
 * read-only `SELECT`/`VALUES` (its rows are ignored); `DELETE FROM sqlite_sequence`; `ANALYZE
 * sqlite_schema`; `PRAGMA foreign_keys | user_version | writable_schema` with a literal value; and,
 * only while `writable_schema` is on, the row the shell inserts into `sqlite_schema` for a virtual
 * table (type 'table', rootpage 0, `CREATE VIRTUAL TABLE` text). Everything else (ATTACH, VACUUM,
 * other PRAGMAs such as `hard_heap_limit`, UPDATE, DROP, ...) is refused with NOT_SQLITE.
 */
import { ErrorCode, PagevaultError } from '../../src/errors';
import { keyword, meaningful, nameOf, type Token } from './sql-lexer';

/** What the allow-list remembers between statements. */
export interface DumpState {
  writableSchema: boolean;
}

const SCHEMA_TABLES = new Set(['sqlite_schema', 'sqlite_master']);
const PRAGMA_VALUES: Record<string, RegExp> = {
  FOREIGN_KEYS: /^(ON|OFF|TRUE|FALSE|YES|NO|0|1)$/i,
  USER_VERSION: /^[+-]?\d{1,10}$/,
  WRITABLE_SCHEMA: /^(ON|OFF|TRUE|FALSE|YES|NO|0|1)$/i,
};

function refuse(statement: string, why: string): PagevaultError {
  return new PagevaultError(ErrorCode.NOT_SQLITE, `The SQL file runs a statement a database dump does not hold (${why}): ${statement.trim().slice(0, 80)}`, {
    statement: statement.trim().slice(0, 200),
  });
}

/** Index just past a balanced parenthesised group starting at `at` (which holds `(`). */
function skipGroup(tokens: readonly Token[], at: number): number {
  let depth = 0;
  for (let i = at; i < tokens.length; i++) {
    if (tokens[i]!.kind === 'open') depth++;
    else if (tokens[i]!.kind === 'close' && --depth === 0) return i + 1;
  }
  return tokens.length;
}

/** The verb a `WITH ...` statement ends in: the first top-level SELECT/INSERT/... after its CTEs. */
function verbAfterWith(tokens: readonly Token[]): { verb: string; at: number } {
  for (let i = 1; i < tokens.length; ) {
    if (tokens[i]!.kind === 'open') {
      i = skipGroup(tokens, i);
      continue;
    }
    const word = keyword(tokens[i]);
    if (['SELECT', 'VALUES', 'INSERT', 'REPLACE', 'UPDATE', 'DELETE'].includes(word)) return { verb: word, at: i };
    i++;
  }
  return { verb: '', at: tokens.length };
}

/** Skips an optional `main.` / `"main".` schema prefix; returns the index of the object name. */
function objectName(tokens: readonly Token[], at: number): { name: string | undefined; next: number } {
  if (tokens[at + 1]?.text === '.' && nameOf(tokens[at])?.toLowerCase() === 'main') at += 2;
  return { name: nameOf(tokens[at]), next: at + 1 };
}

/** The literal values of `VALUES(a, b, ...)` starting at `at`, or undefined when anything else is there. */
function literalRow(tokens: readonly Token[], at: number): Token[] | undefined {
  if (keyword(tokens[at]) !== 'VALUES' || tokens[at + 1]?.kind !== 'open') return undefined;
  const values: Token[] = [];
  let i = at + 2;
  for (;;) {
    const value = tokens[i];
    if (!value || !['string', 'number'].includes(value.kind)) return undefined;
    values.push(value);
    const after = tokens[i + 1];
    if (after?.kind === 'close') return i + 2 === tokens.length ? values : undefined;
    if (after?.text !== ',') return undefined;
    i += 2;
  }
}

function checkInsert(statement: string, tokens: readonly Token[], at: number, state: DumpState): void {
  if (keyword(tokens[at + 1]) !== 'INTO') throw refuse(statement, 'INSERT without INTO');
  const { name, next } = objectName(tokens, at + 2);
  if (name === undefined || !SCHEMA_TABLES.has(name.toLowerCase())) return;
  if (!state.writableSchema) throw refuse(statement, 'a write to sqlite_schema outside writable_schema');
  // The shell's form: INSERT INTO sqlite_schema(type,name,tbl_name,rootpage,sql)VALUES('table',...,0,'CREATE VIRTUAL TABLE ...').
  let i = next;
  if (tokens[i]?.kind === 'open') i = skipGroup(tokens, i);
  const row = literalRow(tokens, i);
  const [type, , , rootpage, sql] = row ?? [];
  const text = nameOf(sql) ?? '';
  const ok = row?.length === 5 && nameOf(type) === 'table' && rootpage?.text === '0' && /^CREATE\s+VIRTUAL\s+TABLE\b/i.test(text);
  if (!ok) throw refuse(statement, 'a sqlite_schema row other than a virtual table');
}

function checkCreate(statement: string, tokens: readonly Token[]): void {
  let i = 1;
  if (keyword(tokens[i]) === 'UNIQUE') i++;
  const what = keyword(tokens[i]);
  if (what === 'VIRTUAL') {
    if (keyword(tokens[i + 1]) !== 'TABLE') throw refuse(statement, 'CREATE VIRTUAL without TABLE');
    return;
  }
  if (!['TABLE', 'INDEX', 'VIEW', 'TRIGGER'].includes(what)) throw refuse(statement, `CREATE ${what || tokens[i]?.text || ''}`);
  if (what !== 'TABLE') return;
  i++;
  if (keyword(tokens[i]) === 'IF') i += 3; // IF NOT EXISTS
  const { next } = objectName(tokens, i);
  if (tokens[next + 1] && tokens[next]?.text === '.') throw refuse(statement, 'a table in another schema');
  if (keyword(tokens[next]) === 'AS') throw refuse(statement, 'CREATE TABLE ... AS SELECT');
}

function checkPragma(statement: string, tokens: readonly Token[], state: DumpState): void {
  let i = 1;
  if (tokens[i + 1]?.text === '.' && nameOf(tokens[i])?.toLowerCase() === 'main') i += 2;
  const name = keyword(tokens[i]);
  const pattern = PRAGMA_VALUES[name];
  if (!pattern) throw refuse(statement, `PRAGMA ${tokens[i]?.text ?? ''}`);
  const value = tokens
    .slice(i + 2)
    .map((t) => t.text)
    .join('');
  if (tokens[i + 1]?.text !== '=' || !pattern.test(value)) throw refuse(statement, `PRAGMA ${name.toLowerCase()} with a value a dump does not write`);
  if (name === 'WRITABLE_SCHEMA') state.writableSchema = /^(ON|TRUE|YES|1)$/i.test(value);
}

/**
 * Checks one statement of a dump (as SQLite split it) against the allow-list.
 * @throws NOT_SQLITE for a statement a dump does not hold.
 */
export function checkDumpStatement(statement: string, state: DumpState): void {
  // SQLite split the text into this statement: a `;` inside it belongs to a trigger body.
  const tokens = meaningful(statement).filter((t, i, all) => !(t.kind === 'semicolon' && i === all.length - 1));
  const bad = tokens.find((t) => t.kind === 'illegal');
  if (bad) throw refuse(statement, `the token ${bad.text.slice(0, 20)}`);
  const verb = keyword(tokens[0]);
  switch (verb) {
    case 'BEGIN':
    case 'COMMIT':
    case 'END':
      return;
    case 'ROLLBACK':
      if (tokens.some((t) => keyword(t) === 'TO')) throw refuse(statement, 'ROLLBACK TO');
      return;
    case 'CREATE':
      checkCreate(statement, tokens);
      return;
    case 'INSERT':
      checkInsert(statement, tokens, 0, state);
      return;
    case 'SELECT':
    case 'VALUES':
      return;
    case 'WITH': {
      const { verb: final, at } = verbAfterWith(tokens);
      if (final === 'SELECT' || final === 'VALUES') return;
      if (final === 'INSERT') {
        checkInsert(statement, tokens, at, state);
        return;
      }
      throw refuse(statement, `WITH ... ${final || '?'}`);
    }
    case 'DELETE':
      if (keyword(tokens[1]) === 'FROM' && nameOf(tokens[2])?.toLowerCase() === 'sqlite_sequence' && tokens.length === 3) return;
      throw refuse(statement, 'DELETE other than DELETE FROM sqlite_sequence');
    case 'ANALYZE':
      if (tokens.length === 2 && SCHEMA_TABLES.has(nameOf(tokens[1])?.toLowerCase() ?? '')) return;
      throw refuse(statement, 'ANALYZE other than ANALYZE sqlite_schema');
    case 'PRAGMA':
      checkPragma(statement, tokens, state);
      return;
    default:
      throw refuse(statement, tokens[0]?.text ?? 'nothing');
  }
}
