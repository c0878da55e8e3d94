// Peak memory of the renderer process that runs the bench page and its workers (Linux /proc).
//
// Dedicated workers live in their page's renderer process, and sql.js keeps its database in
// WebAssembly memory, which CDP's JS heap metrics do not count. So the honest figure is the
// renderer's resident set: we reset its high-water mark (`echo 5 > /proc/<pid>/clear_refs`)
// before a step and read `VmHWM` after it, which catches the exact peak, not a sampled one.
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

function readText(path) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return '';
  }
}

/** pid -> parent pid for every process we can see. */
function parents() {
  const map = new Map();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = readText(`/proc/${entry}/stat`);
    // Field 4 (ppid) follows the parenthesised command name, which may contain spaces.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (Number.isFinite(ppid)) map.set(Number(entry), ppid);
  }
  return map;
}

/** The command line as one string: Chromium rewrites its children's argv into one space-joined title. */
function cmdline(pid) {
  return readText(`/proc/${pid}/cmdline`).replaceAll('\0', ' ');
}

/** The renderer processes of the browser whose command line carries `marker`. */
export function findRenderers(marker) {
  const tree = parents();
  const browser = [...tree.keys()].find((pid) => {
    const args = cmdline(pid);
    return `${args} `.includes(`${marker} `) && !args.includes('--type=');
  });
  if (browser === undefined) return [];
  const descends = (pid) => {
    for (let p = pid, hops = 0; p > 1 && hops < 10; p = tree.get(p) ?? 0, hops++) if (p === browser) return true;
    return false;
  };
  return [...tree.keys()].filter((pid) => pid !== browser && descends(pid) && cmdline(pid).includes('--type=renderer'));
}

function statusField(pid, field) {
  const match = readText(`/proc/${pid}/status`).match(new RegExp(`^${field}:\\s+(\\d+) kB`, 'm'));
  return match ? Number(match[1]) * 1024 : 0;
}

/** Resets the peak resident set of `pids`; returns their current resident sets. */
export function resetPeaks(pids) {
  const current = new Map();
  for (const pid of pids) {
    try {
      writeFileSync(`/proc/${pid}/clear_refs`, '5');
    } catch {
      // Not permitted (not root, or an old kernel): VmHWM then is the peak since the process started.
    }
    current.set(pid, statusField(pid, 'VmRSS'));
  }
  return current;
}

/**
 * The peak since `resetPeaks` of the renderer that grew most (the one running the bench page).
 * @returns { peakBytes, startBytes }
 */
export function readPeak(pids, start) {
  let best = { peakBytes: 0, startBytes: 0 };
  for (const pid of pids) {
    const peakBytes = statusField(pid, 'VmHWM');
    if (peakBytes > best.peakBytes) best = { peakBytes, startBytes: start.get(pid) ?? 0 };
  }
  return best;
}

/** The resident set of the largest of `pids` now (the idle page, before a pass opens its vault). */
export function residentBytes(pids) {
  return Math.max(0, ...pids.map((pid) => statusField(pid, 'VmRSS')));
}

/**
 * Minor page faults of each of `pids` so far (field 10 of /proc/<pid>/stat): each is a page of
 * memory touched for the first time (a fresh allocation being filled), the cost that varies most
 * between machines, so a step's count tells its allocations apart from the machine's speed.
 */
export function minorFaults(pids) {
  const byPid = new Map();
  for (const pid of pids) {
    const stat = readText(`/proc/${pid}/stat`);
    // Fields after the parenthesised command name: state(3) ppid(4) ... flags(9) minflt(10).
    const value = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[7]);
    if (Number.isFinite(value)) byPid.set(pid, value);
  }
  return byPid;
}

/**
 * The faults taken between two `minorFaults` samples by the processes alive at the second one
 * (a renderer started meanwhile counts whole; one that ended meanwhile, such as a closed page's,
 * took its counter with it and is not counted).
 */
export function faultsSince(before, after) {
  let total = 0;
  for (const [pid, value] of after) total += value - (before.get(pid) ?? 0);
  return total;
}

/**
 * What first-touch memory costs on this machine, in ms per MB: a fresh 100 MB buffer allocated
 * and filled, minus refilling the same buffer (the copy itself), median of three. On some VMs this
 * is ~50x a copy, and it is what every image-sized allocation pays.
 */
export function firstTouchCost() {
  const bytes = 100 * 1024 * 1024;
  const samples = [];
  for (let i = 0; i < 3; i++) {
    const started = performance.now();
    const buffer = Buffer.allocUnsafeSlow(bytes);
    buffer.fill(i + 1);
    const freshMs = performance.now() - started;
    const again = performance.now();
    buffer.fill(i + 2);
    const refillMs = performance.now() - again;
    samples.push({ freshMs, refillMs });
  }
  samples.sort((a, b) => a.freshMs - b.freshMs);
  const { freshMs, refillMs } = samples[1];
  return { freshFill100MBMs: freshMs, refill100MBMs: refillMs, firstTouchMsPerMB: Math.max(0, freshMs - refillMs) / 100 };
}
