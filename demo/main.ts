import { openVault, isPagevaultError, type Vault } from '../src/index';

const status = document.querySelector<HTMLParagraphElement>('#status')!;
const table = document.querySelector<HTMLTableElement>('#rows')!;
let vault: Vault | undefined;

async function showInfo(): Promise<void> {
  if (!vault) return;
  const info = await vault.info();
  status.textContent = `${info.name}: ${(info.sizeBytes / 1024).toFixed(0)} KiB, ${info.dirty ? 'unsaved changes' : info.savedAt ? `saved ${new Date(info.savedAt).toLocaleTimeString()}` : 'not saved yet'}`;
}

document.querySelector<HTMLFormElement>('#open')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  const name = String(new FormData(event.target as HTMLFormElement).get('name'));
  await vault?.close();
  vault = await openVault({ name });
  await showInfo();
});

document.querySelector<HTMLFormElement>('#sql')!.addEventListener('submit', async (event) => {
  event.preventDefault();
  if (!vault) return;
  const sql = String(new FormData(event.target as HTMLFormElement).get('sql'));
  try {
    const rows = await vault.query(sql);
    const columns = Object.keys(rows[0] ?? {});
    table.replaceChildren(
      ...[columns, ...rows.map((r) => columns.map((c) => String(r[c])))].map((cells, i) => {
        const tr = document.createElement('tr');
        for (const cell of cells) tr.append(Object.assign(document.createElement(i === 0 ? 'th' : 'td'), { textContent: cell }));
        return tr;
      }),
    );
  } catch (error) {
    status.textContent = isPagevaultError(error) ? `${error.code}: ${error.message}` : String(error);
    return;
  }
  await showInfo();
});
