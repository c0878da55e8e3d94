/**
 * A SQL tokenizer that splits text the way SQLite's own tokenizer (tokenize.c) does, so that what
 * a check sees is what SQLite will run: comments, quoted strings and identifiers, blobs, numbers,
 * and every form of bound variable (`?`, `?NNN`, `:name`, `@name`, `$name`, `#name`, including
 * the TCL forms `$a::b` and `$x(...)` that SQLite reads up to the first `)`).
 *
 * Invariants:
 * - The tokens cover the text exactly: concatenating their `text` gives the input back.
 * - Anything SQLite would reject (an unterminated string, a lone `$`) is an `illegal` token, never
 *   silently merged with what follows.
 */

export type TokenKind =
  | 'space'
  | 'comment'
  | 'string'
  | 'blob'
  | 'number'
  | 'word'
  | 'quoted-name'
  | 'variable'
  | 'semicolon'
  | 'open'
  | 'close'
  | 'operator'
  | 'illegal';

export interface Token {
  readonly kind: TokenKind;
  readonly text: string;
  readonly start: number;
}

const isSpace = (c: string | undefined) => c === ' ' || c === '\t' || c === '\n' || c === '\f' || c === '\r';
const isDigit = (c: string | undefined) => c !== undefined && c >= '0' && c <= '9';
/** SQLite's IdChar: letters, digits, `_`, `$` and every non-ASCII character. */
const isIdChar = (c: string | undefined) => c !== undefined && (/[A-Za-z0-9_$]/.test(c) || c.charCodeAt(0) >= 0x80);
const isIdStart = (c: string | undefined) => c !== undefined && (/[A-Za-z_]/.test(c) || c.charCodeAt(0) >= 0x80);

/** Length of the token at `at` and its kind. */
function next(sql: string, at: number): [TokenKind, number] {
  const c = sql[at]!;
  const c1 = sql[at + 1];
  if (isSpace(c)) {
    let i = at + 1;
    while (isSpace(sql[i])) i++;
    return ['space', i - at];
  }
  if (c === '-' && c1 === '-') {
    const end = sql.indexOf('\n', at + 2);
    return ['comment', (end < 0 ? sql.length : end + 1) - at];
  }
  if (c === '/' && c1 === '*') {
    const end = sql.indexOf('*/', at + 2);
    // SQLite accepts a block comment left open at the end of the text.
    return ['comment', (end < 0 ? sql.length : end + 2) - at];
  }
  if (c === "'" || c === '"' || c === '`') {
    let i = at + 1;
    for (;;) {
      if (i >= sql.length) return ['illegal', sql.length - at];
      if (sql[i] === c) {
        if (sql[i + 1] === c) i += 2;
        else return [c === "'" ? 'string' : 'quoted-name', i + 1 - at];
      } else i++;
    }
  }
  if (c === '[') {
    const end = sql.indexOf(']', at + 1);
    return end < 0 ? ['illegal', sql.length - at] : ['quoted-name', end + 1 - at];
  }
  if ((c === 'x' || c === 'X') && c1 === "'") {
    let i = at + 2;
    while (i < sql.length && /[0-9A-Fa-f]/.test(sql[i]!)) i++;
    const ok = sql[i] === "'" && (i - at - 2) % 2 === 0;
    return ok ? ['blob', i + 1 - at] : ['illegal', Math.min(sql.length, i + 1) - at];
  }
  if (isDigit(c) || (c === '.' && isDigit(c1))) {
    const match = /^(0[xX][0-9A-Fa-f_]+|([0-9_]*\.?[0-9_]*)([eE][+-]?[0-9_]+)?)/.exec(sql.slice(at))!;
    let i = at + match[0].length;
    // SQLite reads a number glued to letters (`1abc`) as one illegal token.
    if (isIdChar(sql[i])) {
      while (isIdChar(sql[i])) i++;
      return ['illegal', i - at];
    }
    return ['number', i - at];
  }
  if (c === '?') {
    let i = at + 1;
    while (isDigit(sql[i])) i++;
    return ['variable', i - at];
  }
  if (c === '$' || c === '@' || c === ':' || c === '#') return variable(sql, at);
  if (isIdStart(c)) {
    let i = at + 1;
    while (isIdChar(sql[i])) i++;
    return ['word', i - at];
  }
  if (c === ';') return ['semicolon', 1];
  if (c === '(') return ['open', 1];
  if (c === ')') return ['close', 1];
  const two = sql.slice(at, at + 2);
  if (['<=', '>=', '<>', '!=', '==', '||', '<<', '>>', '->'].includes(two)) return ['operator', sql.slice(at, at + 3) === '->>' ? 3 : 2];
  if ('+-*/%<>=~&|,.'.includes(c)) return ['operator', 1];
  return ['illegal', 1];
}

/** A `$`, `@`, `:` or `#` variable, read as SQLite reads it (TCL `::` and `(...)` suffixes included). */
function variable(sql: string, at: number): [TokenKind, number] {
  let n = 0;
  let i = at + 1;
  for (; i < sql.length; i++) {
    const c = sql[i];
    if (isIdChar(c)) n++;
    else if (c === '(' && n > 0) {
      do i++;
      while (i < sql.length && !isSpace(sql[i]) && sql[i] !== ')');
      if (sql[i] === ')') return ['variable', i + 1 - at];
      return ['illegal', i - at];
    } else if (c === ':' && sql[i + 1] === ':') i++;
    else break;
  }
  return [n === 0 ? 'illegal' : 'variable', i - at];
}

/** Splits `sql` into tokens covering it exactly. */
export function tokenize(sql: string): Token[] {
  const tokens: Token[] = [];
  for (let at = 0; at < sql.length; ) {
    const [kind, length] = next(sql, at);
    tokens.push({ kind, text: sql.slice(at, at + length), start: at });
    at += length;
  }
  return tokens;
}

/** The tokens SQLite acts on: without spaces and comments. */
export function meaningful(sql: string): Token[] {
  return tokenize(sql).filter((t) => t.kind !== 'space' && t.kind !== 'comment');
}

/** A word token's text in upper case, or '' for any other token (keywords compare case-insensitively). */
export function keyword(token: Token | undefined): string {
  return token?.kind === 'word' ? token.text.toUpperCase() : '';
}

/** The name a word, quoted name or string token stands for (SQLite accepts 'x' as a name in many places). */
export function nameOf(token: Token | undefined): string | undefined {
  if (!token) return undefined;
  if (token.kind === 'word') return token.text;
  if (token.kind === 'quoted-name' || token.kind === 'string') {
    const q = token.text[0]!;
    const body = token.text.slice(1, -1);
    return q === '[' ? body : body.replaceAll(q + q, q);
  }
  return undefined;
}
