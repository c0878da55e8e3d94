// Turns the raw results of a bench run into rows (scenario, figure, baseline, ratio, target, met)
// and prints them as a table. The raw results and the rows both go to bench/results/latest.json.

const MB = 1024 * 1024;

export const median = (values) => {
  const sorted = [...values].filter((v) => typeof v === 'number').sort((a, b) => a - b);
  return sorted.length === 0 ? undefined : sorted[Math.floor(sorted.length / 2)];
};

const ms = (value) => (value === undefined || Number.isNaN(value) ? 'n/a' : `${value >= 100 ? Math.round(value) : value.toFixed(1)} ms`);
const mbps = (bytes, millis) => (bytes / MB) / (millis / 1000);
const fmtRate = (value) => `${value.toFixed(1)} MB/s`;
const fmtBytes = (bytes) => (bytes >= MB ? `${(bytes / MB).toFixed(2)} MB` : `${(bytes / 1024).toFixed(1)} KiB`);
const pct = (value) => `${(value * 100).toFixed(2)}%`;
const PAGE = 4096;

/** A row of the table. `met` is true, false, or null when there is no target (or no baseline to judge by). */
function row(scenario, figure, baseline, ratio, target, met) {
  // A baseline that failed (the browser refused it) leaves NaN behind: say n/a, judge nothing.
  const missing = /NaN|undefined|Infinity/.test(String(ratio));
  return { scenario, figure, baseline, ratio: missing ? 'n/a' : ratio, target, met: missing ? null : met };
}

/** Rows shared by every pass: each step's minor page faults, and the steps or baselines that failed. */
function faultAndFailureRows(pass, label) {
  const rows = [];
  for (const [key, faults] of Object.entries(pass.faults ?? {})) {
    // Steps on pages of their own: their renderers are gone when the step ends, with their counters.
    if (key === 'baselines' || key === 'remoteWholeArchive' || key === 'remoteRestore') continue;
    if (key === 'generate') continue;
    const touched = faults * PAGE;
    rows.push(row(`9 minor page faults, ${key} (${label})`, `${faults} (${fmtBytes(touched)} first-touched)`, `image ${fmtBytes(pass.sizeBytes)}`, `${(touched / pass.sizeBytes).toFixed(2)}x image`, '', null));
  }
  for (const [key, reason] of Object.entries(pass.failures ?? {})) rows.push(row(`failed: ${key} (${label})`, reason, '', '', '', false));
  const b = pass.baselines;
  for (const [key, reason] of Object.entries({ ...(b?.failures ?? {}), ...Object.fromEntries(Object.entries(b?.naive ?? {}).filter(([k]) => k.endsWith('Failed'))) })) {
    rows.push(row(`baseline refused: ${key} (${label})`, String(reason), '', '', '', null));
  }
  return rows;
}

function unavailable(scenario, reason) {
  return row(scenario, 'not available', reason ?? '', '', '', null);
}

/** Rows for one full pass at one size. */
export function passRows(pass) {
  const rows = [];
  const size = pass.sizeBytes;
  const label = `${Math.round(size / MB)} MB`;
  const b = pass.baselines ?? {};
  const exportMs = median(b.exportMs ?? []);
  if (pass.save) {
    const saves = pass.save.saves;
    const saveMs = median(saves.map((s) => s.durationMs));
    const maxChunks = Math.max(...saves.map((s) => s.chunksWritten));
    rows.push(row(`1 save, one-row change (${label})`, ms(saveMs), `export() ${ms(exportMs)}`, `${(saveMs / exportMs).toFixed(2)}x`, '<= 1.5x', saveMs <= 1.5 * exportMs));
    rows.push(row(`1 save, chunks written (${label})`, `${maxChunks} chunks, ${fmtBytes(median(saves.map((s) => s.bytesWritten)))}`, '', '', '<= 2 chunks', maxChunks <= 2));
    rows.push(row(`1 save vs whole-image put (${label})`, ms(saveMs), `export + 1 Blob put ${ms(b.naive?.wholePutBlobMs)}`, `${(saveMs / b.naive?.wholePutBlobMs).toFixed(2)}x`, '', null));
    rows.push(row(`1 save vs naive gzip (${label})`, ms(saveMs), `export + gzip6 + put ${ms(b.naive?.naiveTotalMs)}`, `${(saveMs / b.naive?.naiveTotalMs).toFixed(2)}x`, '', null));
  }
  if (pass.firstSave) rows.push(row(`save after the cold backup (${label})`, ms(pass.firstSave.durationMs), `naive ${ms(b.naive?.naiveTotalMs)}`, `${(pass.firstSave.durationMs / b.naive?.naiveTotalMs).toFixed(2)}x`, '', null));
  if (pass.warm) {
    rows.push(row(`2 warm pages backup (${label})`, ms(pass.warm.ms), `export() ${ms(exportMs)}`, `${(pass.warm.ms / exportMs).toFixed(2)}x`, '<= 2x', pass.warm.ms <= 2 * exportMs));
    rows.push(row(`2 warm backup stored bytes`, `${fmtBytes(pass.warm.storedBytes)} (${pct(pass.warm.storedBytes / size)})`, `image ${fmtBytes(size)}`, '', '< 1%', pass.warm.storedBytes < 0.01 * size));
    rows.push(row(`2 warm backup vs naive`, ms(pass.warm.ms), `naive ${ms(b.naive?.naiveTotalMs)}`, `${(pass.warm.ms / b.naive?.naiveTotalMs).toFixed(2)}x`, '', null));
  }
  if (pass.cold) {
    const d = pass.cold.download;
    if (d.available) {
      const total = pass.cold.backupMs + d.ms;
      rows.push(row(`3 cold backup + download (${label})`, `${ms(total)} (${ms(pass.cold.backupMs)} + ${ms(d.ms)})`, `naive ${ms(b.naive?.naiveTotalMs)}`, `${(b.naive?.naiveTotalMs / total).toFixed(2)}x faster`, '>= 2x faster', b.naive?.naiveTotalMs / total >= 2));
    } else {
      rows.push(row(`3 cold backup (${label}), download n/a`, ms(pass.cold.backupMs), `naive ${ms(b.naive?.naiveTotalMs)}`, `${(b.naive?.naiveTotalMs / pass.cold.backupMs).toFixed(2)}x faster`, '>= 2x faster (with download)', null));
      rows.push(unavailable('3 cold archive download', d.reason));
    }
  }
  const native = pass.native;
  if (pass.download) {
    if (pass.download.available) {
      const ours = mbps(size, pass.download.ms);
      const theirs = native ? mbps(size, native.gzip.gzip1Ms) : undefined;
      rows.push(row(`4 warm archive download (${label})`, `${ms(pass.download.ms)}, ${fmtRate(ours)}`, theirs ? `native gzip -1 ${fmtRate(theirs)}` : 'n/a', theirs ? `${(ours / theirs).toFixed(2)}x` : '', '>= 2x', theirs ? ours >= 2 * theirs : null));
      rows.push(row(`4 archive size`, fmtBytes(pass.download.bytes), native ? `gzip -1 ${fmtBytes(native.gzip.gzip1Bytes)}, gzip6 ${fmtBytes(b.naive?.gzipBytes)}` : '', native ? `${(pass.download.bytes / native.gzip.gzip1Bytes).toFixed(2)}x` : '', '', null));
    } else rows.push(unavailable('4 warm archive download', pass.download.reason));
  }
  if (pass.incremental) {
    const full = pass.download?.available ? pass.download.bytes : undefined;
    for (const [key, title, limit] of [['append', 'append 1%', 0.03], ['update', 'update 0.1%', 0.1]]) {
      const step = pass.incremental[key];
      if (!step.download.available) rows.push(unavailable(`5 incremental, ${title}`, step.download.reason));
      else rows.push(row(`5 incremental, ${title} (${step.rows} rows)`, fmtBytes(step.download.bytes), full ? `full ${fmtBytes(full)}` : 'n/a', full ? pct(step.download.bytes / full) : '', `<= ${limit * 100}%`, full ? step.download.bytes <= limit * full : null));
      rows.push(row(`5 backup after ${title}`, `${ms(step.backupMs)}, stored ${fmtBytes(step.storedBytes)}`, '', '', '', null));
    }
  }
  if (pass.restore) {
    rows.push(row(`6 restore (${label})`, ms(pass.restore.ms), `naive ${ms(b.naiveRestore?.totalMs)}`, `${(pass.restore.ms / b.naiveRestore?.totalMs).toFixed(2)}x`, '<= 1.2x', pass.restore.ms <= 1.2 * b.naiveRestore?.totalMs));
    if (native?.sqlite?.available) rows.push(row(`6 native sqlite3 .restore + integrity_check`, ms(native.sqlite.restoreMs), '(reference)', `${(pass.restore.ms / native.sqlite.restoreMs).toFixed(1)}x`, '', null));
  }
  if (pass.verify) rows.push(row(`6b verify (${label})`, ms(pass.verify.ms), '', '', '', null));
  if (pass.upload) rows.push(row(`6c upload of the .sqlite (${label})`, ms(pass.upload.ms), '', '', '', null));
  for (const [key, title] of [['cold', '3 cold'], ['save', '1 save'], ['warm', '2 warm'], ['download', '4 download'], ['incremental', '5 incremental'], ['restore', '6 restore'], ['verify', '6b verify'], ['upload', '6c upload']]) {
    const r = pass[key]?.responsiveness;
    if (!r) continue;
    rows.push(row(`7 responsiveness during ${title}`, `p50 ${ms(r.p50Ms)}, p95 ${ms(r.p95Ms)}, max ${ms(r.maxMs)}; ${r.longTasks} long tasks`, `${r.pings} pings`, '', 'p95 < 100 ms, 0 long tasks', r.p95Ms < 100 && r.longTasks === 0));
  }
  for (const [key, title] of [['cold', '3 cold'], ['warm', '2 warm'], ['download', '4 download'], ['incremental', '5 incremental'], ['restore', '6 restore']]) {
    const m = pass.memory?.[key];
    if (!m) continue;
    // Above the idle renderer (page loaded, no vault open): what the vault and its job cost.
    const above = m.peakBytes - (pass.idleRendererBytes ?? 0);
    rows.push(row(`8 peak memory above idle, ${title}`, `${fmtBytes(above)} (peak RSS ${fmtBytes(m.peakBytes)})`, `image ${fmtBytes(size)}`, `${(above / size).toFixed(2)}x`, '< 3x', above < 3 * size));
  }
  rows.push(...faultAndFailureRows(pass, label));
  if (pass.format) {
    const f = pass.format;
    if (f.extract) rows.push(row(`Node: read archive -> image (${label})`, `${ms(f.extract.ms)}, ${fmtRate(mbps(size, f.extract.ms))}`, native ? `zlib gunzip ${ms(native.gzip.gunzipMs)}` : '', native ? `${(f.extract.ms / native.gzip.gunzipMs).toFixed(2)}x` : '', '', null));
    rows.push(row(`Node: image -> archive (${label})`, `${ms(f.create.ms)}, ${fmtRate(mbps(size, f.create.ms))}`, native ? `zlib gzip -1 ${ms(native.gzip.gzip1Ms)}` : '', native ? `${(f.create.ms / native.gzip.gzip1Ms).toFixed(2)}x` : '', '', null));
  }
  return rows;
}

/** Rows for a save-only pass (the 20 MB one-row-change figures issue 2 asks for). */
export function saveRows(pass) {
  const label = `${Math.round(pass.sizeBytes / MB)} MB`;
  const b = pass.baselines ?? {};
  const exportMs = median(b.exportMs ?? []);
  const saveMs = median(pass.save?.saves.map((s) => s.durationMs) ?? []);
  return [
    row(`1 save, one-row change (${label})`, ms(saveMs), `export() ${ms(exportMs)}`, `${(saveMs / exportMs).toFixed(2)}x`, '<= 1.5x', saveMs <= 1.5 * exportMs),
    row(`1 save vs whole-image put (${label})`, ms(saveMs), `export + 1 Blob put ${ms(b.naive?.wholePutBlobMs)}`, `${(saveMs / b.naive?.wholePutBlobMs).toFixed(2)}x`, '', null),
    row(`first (cold) save (${label})`, ms(pass.firstSave?.durationMs), `naive ${ms(b.naive?.naiveTotalMs)}`, `${(pass.firstSave?.durationMs / b.naive?.naiveTotalMs).toFixed(2)}x`, '', null),
    ...faultAndFailureRows(pass, label),
  ];
}

/** Prints rows as an aligned text table (also valid Markdown). */
export function formatTable(rows) {
  const header = ['scenario', 'pagevault', 'baseline', 'ratio', 'target', 'met'];
  const cells = rows.map((r) => [r.scenario, r.figure, r.baseline, r.ratio, r.target, r.met === null ? '' : r.met ? 'yes' : 'NO']);
  const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => String(c[i]).length)));
  const line = (c) => `| ${c.map((v, i) => String(v).padEnd(widths[i])).join(' | ')} |`;
  return [line(header), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.map(line)].join('\n');
}
