import type { CliRun, ShellDatabase } from '../support/node-commands';

declare module 'vitest/browser' {
  interface BrowserCommands {
    pagevaultCli(args: string[], files: Record<string, string>): Promise<CliRun>;
    sqlite3(kind: 'sqlite' | 'sqlite.gz' | 'sql', base64: string, sql: string): Promise<string>;
    sqlite3Make(script: string, query: string): Promise<ShellDatabase>;
  }
}
