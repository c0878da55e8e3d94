/**
 * What the CLI asks SQLite about an image: the same checks the worker runs on an upload or a
 * restore (the engine facade's `checkImage`: header, `integrity_check`, `foreign_key_check`, row
 * counts), in-process since Node has no Web Worker.
 */
import type { TableCount } from '../src/protocol';
import { checkedTables } from '../worker/engine';

/**
 * Runs the checks and counts the rows of every table.
 * @throws CORRUPT when integrity_check reports anything but "ok"; NOT_SQLITE; UNSUPPORTED_FEATURE.
 */
export async function checkImage(image: Uint8Array): Promise<{ tables: TableCount[] }> {
  return { tables: await checkedTables(image) };
}

/**
 * Row counts of every ordinary table, after the same checks.
 * @throws CORRUPT, NOT_SQLITE, UNSUPPORTED_FEATURE
 */
export function tableCounts(image: Uint8Array): Promise<TableCount[]> {
  return checkedTables(image);
}
