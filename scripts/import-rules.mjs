// The architecture's import rules (README.md "Architecture": dependencies point one way),
// checked by scripts/check-imports.mjs (`npm run check:imports`, run in CI).
// Paths are relative to the repository root, with forward slashes. A rule fires on an import (static,
// dynamic, `import type`, `export ... from`, or a `typeof import('x')` type) from a file `from` matches
// to a target `to` matches: a repository file path, a package name (`sql.js`), or `node:<module>`.

/** @typedef {{ name: string, why: string, from: RegExp, notFrom?: RegExp, to: RegExp, notTo?: RegExp }} ImportRule */

const SQLJS = /^sql\.js$/;
const IDB = /^idb$/;

/** @type {ImportRule[]} */
export const rules = [
  { name: 'src-no-worker', why: 'the page never imports the worker (it spawns it by URL)', from: /^src\//, to: /^worker\// },
  { name: 'src-no-sqljs', why: 'sql.js lives in the worker engine only', from: /^src\//, to: SQLJS },
  { name: 'src-no-idb', why: 'idb lives in the worker store only', from: /^src\//, to: IDB },
  {
    name: 'sqljs-only-engine',
    why: 'only worker/engine/ sees sql.js (jobs have their own rule)',
    from: /^(worker|bin|demo)\//,
    notFrom: /^worker\/(engine|jobs)\//,
    to: SQLJS,
  },
  { name: 'idb-only-store', why: 'only worker/store/ sees idb', from: /^(worker|bin|demo)\//, notFrom: /^worker\/(store|jobs)\//, to: IDB },
  { name: 'jobs-no-sqljs-idb', why: 'jobs go through the engine and the store', from: /^worker\/jobs\//, to: /^(sql\.js|idb)$/ },
  {
    name: 'format-self-contained',
    why: 'src/format/ is pure: it imports only itself, fflate and the shared vocabulary (errors, protocol types)',
    from: /^src\/format\//,
    to: /./,
    notTo: /^(src\/format\/|src\/errors\.ts$|src\/protocol\.ts$|fflate$)/,
  },
  {
    name: 'vocabulary-leaves',
    why: 'src/errors.ts and src/protocol.ts are leaves that src/format/ may use: they import only each other',
    from: /^src\/(errors|protocol)\.ts$/,
    to: /./,
    notTo: /^src\/(errors|protocol)\.ts$/,
  },
  {
    name: 'demo-through-index',
    why: 'the demo uses pagevault as an app would: through src/index.ts only',
    from: /^demo\//,
    to: /^(src|worker|bin)\//,
    notTo: /^src\/index\.ts$/,
  },
];

/** Globals that mean I/O; `src/format/` must not name them (rule `format-no-io`). */
export const ioGlobals = ['fetch', 'XMLHttpRequest', 'WebSocket', 'indexedDB', 'localStorage', 'sessionStorage', 'caches', 'require', 'process'];
export const noIoFrom = /^src\/format\//;

/** Folders where any import cycle fails (rule `no-cycle`). */
export const noCycleIn = /^(src|worker|bin)\//;

/** Folders scanned. */
export const roots = ['src', 'worker', 'bin', 'demo'];

// Temporary exceptions: each one names its rule, the exact edge, and when it goes. An exception that no
// longer matches anything fails the check, so it is deleted with the code it excused.
// For `no-cycle`, an excepted edge is left out of the graph before cycles are searched.
/** @type {{ rule: string, from: string, to: RegExp, why: string }[]} */
export const exceptions = [];
