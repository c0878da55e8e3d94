/**
 * Entry of the sandbox worker: its own sql.js instance, running the work of ./work.ts on bytes and
 * SQL that did not come from the live database. One call at a time; the database worker terminates
 * it when a call runs past its time budget.
 */
import type { SqlJsStatic } from 'sql.js';
import { errorToWire } from '../../../src/errors';
import { loadSqlJs } from '../sqlite';
import type { SandboxRequest, SandboxResponse } from './protocol';
import { runCall } from './work';

let sql: Promise<SqlJsStatic> | undefined;
const scope = self as unknown as Worker;

scope.onmessage = async (event: MessageEvent<SandboxRequest>) => {
  const { id, wasmUrl, budget, call } = event.data;
  try {
    sql ??= loadSqlJs(wasmUrl);
    const instance = await sql;
    const done = await runCall(instance, call, { budget, isolated: true }, () => Promise.resolve());
    scope.postMessage({ id, ok: true, value: done.value } satisfies SandboxResponse, done.transfer);
  } catch (error) {
    scope.postMessage({ id, ok: false, error: errorToWire(error) } satisfies SandboxResponse);
  }
};
scope.postMessage({ ready: true } satisfies SandboxResponse);
