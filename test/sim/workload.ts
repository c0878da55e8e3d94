/**
 * The workload of a simulated run: one random public call per step, issued without awaiting it
 * (several are in flight at once), with what its acknowledgement tells the model.
 */
import type { BackupModel } from './model';
import type { World } from './world';

export class Workload {
  constructor(private readonly world: World) {}

  /** One random public call (or a kill). */
  act(): void {
    const r = this.world.sched.choice() * 100;
    const w = this.world.worker;
    const m = this.world.model;
    if (r < 30) {
      this.insert(this.world.chance(0.8) ? 'exec' : 'query');
      return;
    }
    if (r < 35) {
      // A transaction: committed at once, or left open for a few steps (other calls, a close or a
      // kill may come while it is open).
      this.world.issue('BEGIN', w.exec('BEGIN'), (o) => o.ok && m.begin());
      for (let i = 0; i < 1 + Math.floor(this.world.sched.choice() * 2); i++) this.insert('exec');
      const commit = () => this.world.issue('COMMIT', w.exec('COMMIT'), (o) => o.ok && m.commit());
      if (this.world.chance(0.5)) commit();
      else this.world.deferred.push({ epoch: w.epoch, step: this.world.step + 1 + Math.floor(this.world.sched.choice() * 4), run: commit });
      return;
    }
    if (r < 43) {
      this.ddl();
      return;
    }
    if (r < 50) {
      const snapshot = m.snapshot();
      const seq = this.world.opSeq;
      const restoreSeq = m.restoreSeq;
      this.world.issue('flush', w.flush(), (o) => o.ok && m.flushed(snapshot, seq, restoreSeq));
      return;
    }
    if (r < 61) {
      this.create();
      return;
    }
    if (r < 66) {
      const b = this.pickBackup(true);
      if (b) this.world.issue(`cancel ${b.id}`, w.cancel(b.id), (o) => {
          if (o.ok && o.value.status === 'cancelled') b.cancelled = true;
        });
      return;
    }
    if (r < 71) {
      const b = this.pickBackup(false);
      if (b) this.world.issue(`drop ${b.id}`, w.drop(b.id));
      return;
    }
    if (r < 78) {
      this.restore();
      return;
    }
    if (r < 81) {
      const b = this.pickBackup(false);
      const format = this.world.chance(0.5) ? 'archive' : 'sqlite';
      if (b) this.world.issue(`download ${b.id} ${format}`, w.download(b.id, format), (o) => o.ok && this.world.blobs.push({ backupId: b.id, format, blob: o.value.blob }));
      return;
    }
    if (r < 84) {
      const file = this.world.pick(this.world.files);
      if (file) {
        this.world.issue(`upload ${file.format} of ${file.backupId}`, w.upload(file.bytes), (o) => {
          if (o.ok) m.backups.set(o.value.backupId, newBackup(o.value.backupId, 'upload', undefined, undefined));
        });
      }
      return;
    }
    if (r < 88) {
      const b = this.pickBackup(false);
      if (b) {
        this.world.issue(`verify ${b.id}`, w.verify(b.id), (o) => {
          if (o.ok && !o.value.ok) this.world.fail(`backup-verifies${b.kind === 'auto' ? ':auto' : ''}`, `verify(${b.id}): ${o.value.reason ?? o.value.integrity}`);
        });
      }
      return;
    }
    if (r < 90) {
      const keepLast = 1 + Math.floor(this.world.sched.choice() * 3);
      this.world.issue(`retention keepLast ${keepLast}`, w.retention({ keepLast }));
      return;
    }
    if (r < 95) {
      this.world.close();
      return;
    }
    this.world.kill();
  }

  private insert(via: 'exec' | 'query'): void {
    const id = this.world.model.nextId++;
    const value = `v${id}-${'x'.repeat(Math.floor(this.world.sched.choice() * 200))}`;
    this.world.issue(`insert ${id} (${via})`, this.world.worker.sql(via, 'INSERT INTO item (id, v) VALUES (?, ?)', [id, value]), (o) => o.ok && this.world.model.acked([`row:${id}`]));
  }

  private ddl(): void {
    const m = this.world.model;
    const via = this.world.chance(0.5) ? 'exec' : 'query';
    const r = this.world.sched.choice();
    if (r < 0.4) {
      const table = `d${m.nextDdl++}`;
      this.world.issue(`CREATE TABLE ${table} (${via})`, this.world.worker.sql(via, `CREATE TABLE ${table} (a INTEGER)`), (o) => {
        if (o.ok) {
          m.ddlTables.push(table);
          m.acked([`table:${table}`, `col:${table}.a`]);
        }
      });
    } else if (r < 0.7) {
      const table = this.world.pick(m.ddlTables) ?? 'item';
      const column = `c${m.nextDdl++}`;
      this.world.issue(`ALTER TABLE ${table} ADD ${column} (${via})`, this.world.worker.sql(via, `ALTER TABLE ${table} ADD COLUMN ${column} TEXT`), (o) => o.ok && m.acked([`col:${table}.${column}`]));
    } else {
      const uv = m.nextUserVersion++;
      this.world.issue(`user_version ${uv} (${via})`, this.world.worker.sql(via, `PRAGMA user_version = ${uv}`), (o) => o.ok && m.acked([], uv));
    }
  }

  private create(): void {
    const m = this.world.model;
    const r = this.world.sched.choice();
    const options = r < 0.45 ? { method: 'pages' as const } : r < 0.65 ? { method: 'vacuum' as const } : r < 0.85 ? { tables: ['item'] } : { verify: true };
    const required = m.restoresInFlight === 0 ? m.snapshot().facts : undefined;
    const restoreSeq = m.restoreSeq;
    this.world.issue(`create ${JSON.stringify(options)}`, this.world.worker.create(options), (o) => {
      if (!o.ok) return;
      const id = o.value.backupId;
      const b = newBackup(id, 'create', restoreSeq === m.restoreSeq ? required : undefined, 'tables' in options ? options.tables : undefined);
      m.backups.set(id, b);
      this.world.log(`  = ${id}`);
      this.world.issue(`wait ${id}`, this.world.worker.wait(id), (w) => {
        if (w.ok) b.issuedBound = m.nextId;
      });
    });
  }

  private restore(): void {
    const m = this.world.model;
    const b = this.pickBackup(false);
    if (!b) return;
    const r = this.world.sched.choice();
    if (r < 0.2) {
      this.world.issue(`restore ${b.id} into`, this.world.worker.restore({ backupId: b.id, into: `${this.world.name}-into` }));
      return;
    }
    const rowsOnly = r < 0.4;
    m.restoreStarted();
    this.world.issue(`restore ${b.id}${rowsOnly ? ' tables item' : ''}`, this.world.worker.restore({ backupId: b.id, ...(rowsOnly ? { tables: ['item'] } : {}) }), (o) => {
      m.restoreEnded();
      if (o.ok) m.restored(b.content, rowsOnly, this.world.opSeq);
    });
  }

  /** A backup the model knows; `inFlight` prefers one whose job may still run. */
  private pickBackup(inFlight: boolean): BackupModel | undefined {
    const all = [...this.world.model.backups.values()];
    const running = all.filter((b) => b.issuedBound === undefined);
    return this.world.pick(inFlight && running.length > 0 ? running : all);
  }

}

export function newBackup(id: string, kind: BackupModel['kind'], requiredFacts: Set<string> | undefined, tables: readonly string[] | undefined): BackupModel {
  return { id, kind, requiredFacts, issuedBound: undefined, tables, content: undefined, cancelled: false };
}
