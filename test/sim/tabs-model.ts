/**
 * The one model of acknowledged writes for a run with several tabs. Rows only (table `item`, one
 * unique id per insert, issued by any tab): for each, where it ran and what the tabs were told.
 *
 * What must survive (README "Several tabs", "Durability"):
 * - `durable`: saved by a successful flush or close of the worker that ran it, begun after it
 *   ran; or acknowledged to a tab opened with `durability: 'commit'`. A kill takes nothing of it.
 * - `live`: everything that ran on the owner serving now (it is in that owner's database).
 * What may be there: rows that ran (an autosave may have saved them), never a row that did not run.
 * A row runs at most once, whatever the hand-overs (a forwarded call is never resent after it ran).
 */
export interface RowModel {
  readonly id: number;
  /** The tab (label) that issued it. */
  readonly by: string;
  /** Epochs of the workers that ran it (more than one is a violation). */
  readonly ranOn: number[];
  /** What the issuing tab was told: undefined while in flight, 'lost' when its tab died first. */
  answer: string | undefined;
  /** Saved (see above); `how` says by what, for reports. */
  durable: 'flush' | 'close' | 'commit-ack' | undefined;
}

export class TabsModel {
  nextId = 1;
  readonly rows = new Map<number, RowModel>();

  issue(by: string): RowModel {
    const row: RowModel = { id: this.nextId++, by, ranOn: [], answer: undefined, durable: undefined };
    this.rows.set(row.id, row);
    return row;
  }

  /** Ids of the rows that ran on `epoch`. */
  ranOn(epoch: number): number[] {
    return [...this.rows.values()].filter((r) => r.ranOn.includes(epoch)).map((r) => r.id);
  }

  /** The rows that must be in the live database while `owner` serves, with why. */
  required(owner: number | undefined): Map<number, string> {
    const must = new Map<number, string>();
    for (const r of this.rows.values()) {
      if (r.durable) must.set(r.id, `durable-${r.durable}`);
      else if (owner !== undefined && r.ranOn.includes(owner)) must.set(r.id, 'ran-on-owner');
    }
    return must;
  }
}
