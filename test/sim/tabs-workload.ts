/**
 * The workload of a run with several tabs: each step, tabs that died or closed may load again,
 * then one random call from one open tab (or a kill, a close) is issued without awaiting it.
 */
import type { Result } from '../../src/protocol';
import type { SimTab } from './sim-tab';
import type { TabsWorld } from './tabs-world';

const INSERT = 'INSERT INTO item (id, v) VALUES (?, ?)';

export class TabsWorkload {
  /** Backups some tab was told were started. */
  private readonly backups: string[] = [];

  constructor(private readonly world: TabsWorld) {}

  act(): void {
    const w = this.world;
    for (let slot = 0; slot < w.tabCount; slot++) {
      const tab = w.tabs[slot];
      if ((!tab || tab.state === 'dead' || tab.state === 'closed') && w.chance(0.3)) w.openTab(slot);
    }
    const open = w.live().filter((t) => t.state === 'open');
    const tab = w.pick(open);
    if (!tab) return;
    const owner = open.find((t) => t.epoch === w.owner);
    const followers = open.filter((t) => t.epoch !== w.owner);
    // A crash may come at any moment, also while its tab opens, hands over or closes.
    const anyOwner = w.live().find((t) => t.epoch === w.owner);
    const anyFollower = w.pick(w.live().filter((t) => t.epoch !== w.owner));
    const r = w.sched.choice() * 100;
    if (r < 45) this.insert(tab);
    else if (r < 55) w.issue(tab, 'flush', (api) => api.flush());
    else if (r < 60) w.issue(tab, 'count', (api) => api.query('SELECT count(*) AS n FROM item'));
    else if (r < 67) this.create(tab);
    else if (r < 70) {
      const id = w.pick(this.backups);
      if (id) w.issue(tab, `cancel ${id}`, (api) => api.backupCancel(id));
    } else if (r < 73) w.issue(tab, 'list', (api) => api.backupList());
    else if (r < 80) {
      if (anyOwner) w.kill(anyOwner);
    } else if (r < 84) {
      if (anyFollower) w.kill(anyFollower);
    } else if (r < 90) {
      if (owner) w.closeTab(owner);
    } else if (r < 94) {
      const f = w.pick(followers);
      if (f) w.closeTab(f);
    } else w.issue(tab, 'info', (api) => api.info());
  }

  private insert(tab: SimTab): void {
    const w = this.world;
    const row = w.model.issue(tab.label);
    const value = `v${row.id}-${'x'.repeat(Math.floor(w.sched.choice() * 200))}`;
    const via = w.chance(0.8) ? 'exec' : 'query';
    w.issue(tab, `insert ${row.id} (${via}${tab.durable ? ', commit' : ''})`, (api): Promise<Result<unknown>> => (via === 'exec' ? api.exec(INSERT, [row.id, value]) : api.query(INSERT, [row.id, value])), (o) => {
      row.answer = o.ok ? 'ok' : o.code;
      if (!o.ok) return;
      if (row.ranOn.length === 0) w.fail('tabs:acked-but-never-ran', `row ${row.id}`);
      if (tab.durable) row.durable ??= 'commit-ack';
    });
  }

  private create(tab: SimTab): void {
    const w = this.world;
    const method = w.chance(0.7) ? 'pages' : 'vacuum';
    w.issue(tab, `create ${method}`, (api) => api.backupCreate({ method }), (o) => {
      if (!o.ok) return;
      const id = o.value.backupId;
      this.backups.push(id);
      // Awaited from any tab: jobs live in the owner, every tab sees them.
      const waiter = w.pick(w.live().filter((t) => t.state === 'open'));
      if (waiter) w.issue(waiter, `wait ${id}`, (api) => api.backupWait(id));
    });
  }
}
