// What the kernel says about processes and the machine: CPU time (per process and per thread), peak
// RSS, and the local stack's server processes, so each measurement can say who used the two cores.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** USER_HZ: /proc reports CPU time in clock ticks, 100 per second on Linux. */
const TICKS_PER_SECOND = 100;

function statFields(path: string): string[] | undefined {
  try {
    const text = readFileSync(path, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const close = text.lastIndexOf(')');
    return [text.slice(0, close + 1), ...text.slice(close + 2).split(' ')];
  } catch {
    return undefined;
  }
}

/** User + system CPU seconds of a process (all its threads), 0 when it is gone. */
export function processCpuSeconds(pid: number): number {
  const f = statFields(`/proc/${pid}/stat`);
  // After the command name: state is index 1, utime index 12, stime index 13.
  return f ? (Number(f[12]) + Number(f[13])) / TICKS_PER_SECOND : 0;
}

/** CPU seconds per thread name (threads of the same name added up). */
export function threadCpuSeconds(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  let tids: string[] = [];
  try {
    tids = readdirSync(`/proc/${pid}/task`);
  } catch {
    return out;
  }
  for (const tid of tids) {
    const f = statFields(`/proc/${pid}/task/${tid}/stat`);
    if (!f) continue;
    const name = f[0].slice(f[0].indexOf('(') + 1, -1);
    out.set(name, (out.get(name) ?? 0) + (Number(f[12]) + Number(f[13])) / TICKS_PER_SECOND);
  }
  return out;
}

function statusKb(pid: number, field: string): number {
  try {
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

export const peakRssKb = (pid: number) => statusKb(pid, 'VmHWM');
export const rssKb = (pid: number) => statusKb(pid, 'VmRSS');

/** Resets the process's peak RSS to its current RSS (Linux: "5" into clear_refs). */
export function resetPeakRss(pid: number): boolean {
  try {
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    return true;
  } catch {
    return false;
  }
}

/** Busy, interrupt-handling and total CPU ticks of the whole machine since boot (all cores). */
export function machineTicks(): { busy: number; irq: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0];
  const v = line.trim().split(/\s+/).slice(1).map(Number);
  const total = v.reduce((a, b) => a + b, 0);
  const idle = v[3] + (v[4] ?? 0); // idle + iowait
  // irq + softirq: mostly the loopback network here, charged to no process.
  return { busy: total - idle, irq: (v[5] ?? 0) + (v[6] ?? 0), total };
}

/** CPU seconds of every process, by pid, with its name. */
export function allProcessesCpu(): Map<number, { name: string; seconds: number }> {
  const out = new Map<number, { name: string; seconds: number }>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const f = statFields(`/proc/${entry}/stat`);
    if (!f) continue;
    out.set(Number(entry), {
      name: f[0].slice(f[0].indexOf('(') + 1, -1),
      seconds: (Number(f[12]) + Number(f[13])) / TICKS_PER_SECOND,
    });
  }
  return out;
}

export interface ServerPids {
  rgwPrimary?: number;
  rgwSecondary?: number;
  osd?: number;
  temporal?: number;
}

function readPid(file: string): number | undefined {
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').trim());
  return pid > 0 && existsSync(`/proc/${pid}`) ? pid : undefined;
}

/** The local stack's server processes, from the pid files `stack/stack.sh` writes. */
export function serverPids(stackDir: string): ServerPids {
  const run = join(stackDir, 'ceph', 'run');
  return {
    rgwPrimary: readPid(join(run, 'rgw.primary.pid')),
    rgwSecondary: readPid(join(run, 'rgw.secondary.pid')),
    osd: readPid(join(run, 'osd.0.pid')),
    temporal: readPid(join(stackDir, 'temporal.pid')),
  };
}

export interface CpuSnapshot {
  at: number;
  machine: { busy: number; irq: number; total: number };
  servers: Record<keyof ServerPids, number>;
  processes: Map<number, { name: string; seconds: number }>;
}

export function cpuSnapshot(pids: ServerPids): CpuSnapshot {
  const cpu = (pid?: number) => (pid ? processCpuSeconds(pid) : 0);
  return {
    at: Date.now(),
    machine: machineTicks(),
    servers: {
      rgwPrimary: cpu(pids.rgwPrimary),
      rgwSecondary: cpu(pids.rgwSecondary),
      osd: cpu(pids.osd),
      temporal: cpu(pids.temporal),
    },
    processes: allProcessesCpu(),
  };
}

export interface CpuDelta {
  seconds: number;
  /** CPU seconds used by the whole machine (all processes) in the interval. */
  machineBusy: number;
  /** RGW (both zones) and the OSD: the storage server. */
  storage: number;
  temporal: number;
  /** Interrupt handling (the loopback network), charged to no process. */
  irq: number;
  /** The processes that used the most CPU in the interval, by name (the server processes included). */
  top: { pid: number; name: string; seconds: number; started: boolean }[];
}

export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot): CpuDelta {
  const d = (k: keyof ServerPids) => b.servers[k] - a.servers[k];
  return {
    seconds: (b.at - a.at) / 1000,
    machineBusy: (b.machine.busy - a.machine.busy) / TICKS_PER_SECOND,
    storage: d('rgwPrimary') + d('rgwSecondary') + d('osd'),
    temporal: d('temporal'),
    irq: (b.machine.irq - a.machine.irq) / TICKS_PER_SECOND,
    top: [...b.processes.entries()]
      .map(([pid, p]) => ({
        pid,
        name: p.name,
        seconds: p.seconds - (a.processes.get(pid)?.seconds ?? 0),
        started: !a.processes.has(pid),
      }))
      .filter((p) => p.seconds >= 0.1)
      .sort((x, y) => y.seconds - x.seconds)
      .slice(0, 8),
  };
}
