/**
 * The operations the fault sweeps run: a save, backups, uploads, a restore and a retention sweep,
 * each with a setup done before faults are armed. `run` is the whole operation as a user starts it
 * (for a save: the writes and the flush), so running it again is a retry.
 */
import type { BackupInfo } from '../../src/protocol';
import { writeImageArchive } from '../../src/format/archive/from-image';
import type { Service } from '../../worker/service';
import { addRows, call, sqlJs } from './vault-harness';

export interface Scenario {
  readonly name: string;
  /** Builds the state the operation starts from. Returns what `run` needs. */
  setup(service: Service): Promise<Record<string, string>>;
  /** The operation; rejects with the PagevaultError the service returned. */
  run(service: Service, context: Record<string, string>): Promise<unknown>;
  /** Trying again in the same worker after a failure (default: `run`). */
  retry?(service: Service, context: Record<string, string>): Promise<unknown>;
  /** The setup leaves unsaved changes, which a crashed worker loses (so a retry starts from the saved state). */
  readonly unsaved?: boolean;
}

async function backup(service: Service, options: { method?: 'pages' | 'vacuum'; verify?: boolean } = {}): Promise<BackupInfo> {
  const { backupId } = await call(service.backupCreate(options));
  return call(service.backupWait(backupId));
}

/** A database built outside the vault (another app's file), `rows` rows of seed 9. */
async function foreignImage(rows: number): Promise<Uint8Array> {
  const SQL = await sqlJs();
  const db = new SQL.Database();
  db.run('CREATE TABLE item (id INTEGER PRIMARY KEY, body TEXT NOT NULL, seed INTEGER NOT NULL)');
  db.run(`WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < ${rows}) INSERT INTO item (body, seed) SELECT hex(randomblob(150)), 9 FROM c`);
  const image = db.export();
  db.close();
  return image;
}

/** 300 rows saved, one page-copy backup of them. */
async function baseline(service: Service): Promise<BackupInfo> {
  await addRows(service, 300, 1);
  await call(service.flush());
  return backup(service);
}

export const SCENARIOS: readonly Scenario[] = [
  {
    name: 'a save',
    setup: async (service) => ({ first: (await baseline(service)).backupId }),
    run: async (service) => {
      await addRows(service, 200, 2);
      return call(service.flush());
    },
    retry: (service) => call(service.flush()),
  },
  {
    name: 'a page-copy backup of unsaved changes',
    setup: async (service) => {
      await baseline(service);
      await addRows(service, 200, 2);
      return {};
    },
    unsaved: true,
    run: (service) => backup(service),
  },
  {
    name: 'a vacuum backup with verification',
    setup: async (service) => {
      await baseline(service);
      await call(service.exec('DELETE FROM item WHERE id % 3 = 0'));
      return {};
    },
    unsaved: true,
    run: (service) => backup(service, { method: 'vacuum', verify: true }),
  },
  {
    name: 'an archive upload',
    setup: async (service) => {
      await baseline(service);
      return {};
    },
    run: async (service) => {
      const image = await foreignImage(300);
      const parts = await writeImageArchive(image, { name: 'other', createdAt: 1, method: 'pages', tables: [{ name: 'item', rows: 300 }] });
      return call(service.backupUpload(new Blob(parts as BlobPart[]), {}));
    },
  },
  {
    name: 'a .sqlite upload',
    setup: async (service) => {
      await baseline(service);
      return {};
    },
    run: async (service) => call(service.backupUpload(new Blob([(await foreignImage(250)) as BlobPart]), {})),
  },
  {
    name: 'a restore',
    setup: async (service) => {
      const first = await baseline(service);
      await addRows(service, 200, 2);
      await call(service.flush());
      return { first: first.backupId };
    },
    run: (service, context) => call(service.backupRestore({ backupId: context['first']! })),
  },
  {
    name: 'a retention sweep',
    setup: async (service) => {
      if (!service.retentionApply || !service.retentionSet) throw new Error('retention is not served yet');
      await baseline(service);
      await addRows(service, 100, 2);
      await backup(service, { method: 'vacuum' });
      await addRows(service, 100, 3);
      await backup(service, { method: 'vacuum' });
      await call(service.retentionSet({ keepLast: 1 }));
      return {};
    },
    run: (service) => call(service.retentionApply!({})),
  },
];
