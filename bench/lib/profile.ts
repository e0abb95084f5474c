// Reads the V8 CPU profiles that `node --cpu-prof` wrote for the worker and sums, within the job's
// time window, where the CPU went: the functions with the most self time, and by package.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

export interface HotSpot {
  name: string;
  ms: number;
  share: number;
}

export interface ProfileSummary {
  file: string;
  windowMs: number;
  busyMs: number;
  /** "(program)" and "(idle)" samples: waiting, or native work V8 cannot attribute. */
  unattributedMs: number;
  top: HotSpot[];
  byPackage: HotSpot[];
  /** Lifeboat's own functions by inclusive time (their callees counted). */
  lifeboatInclusive: HotSpot[];
}

function packageOf(url: string, functionName: string): string {
  if (!url) return functionName.startsWith('(') ? functionName : '(native)';
  const nm = url.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  if (url.startsWith('node:')) return 'node (built-in modules)';
  if (url.includes('/dist/')) return 'lifeboat';
  return url;
}

function frameName(n: ProfileNode): string {
  const f = n.callFrame;
  const file = f.url ? f.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/dist\//, 'dist/') : '';
  return `${f.functionName || '(anonymous)'}${file ? ` ${file}:${f.lineNumber + 1}` : ''}`;
}

/**
 * Summarises the profile files in `dir` over the window [fromEnd, toEnd] given as microseconds before
 * each profile's end (the worker exits shortly after the job, so its end is the reference).
 */
export function summariseProfiles(
  dir: string,
  windowFromEndUs: [number, number],
  topN = 15,
): ProfileSummary[] {
  const out: ProfileSummary[] = [];
  for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
    const p = JSON.parse(readFileSync(join(dir, file), 'utf8')) as CpuProfile;
    const from = p.endTime - windowFromEndUs[0];
    const to = p.endTime - windowFromEndUs[1];
    const byId = new Map(p.nodes.map((n) => [n.id, n]));
    const parent = new Map<number, number>();
    for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
    const self = new Map<string, number>();
    const pkg = new Map<string, number>();
    const inclusive = new Map<string, number>();
    let t = p.startTime;
    let busy = 0;
    let unattributed = 0;
    for (let i = 0; i < p.samples.length; i++) {
      t += p.timeDeltas[i];
      if (t < from || t > to) continue;
      const weight = (p.timeDeltas[i + 1] ?? p.timeDeltas[i]) / 1000;
      const node = byId.get(p.samples[i])!;
      const name = frameName(node);
      // Node does not tell V8 when its event loop waits: that time is sampled as "(program)", with
      // "(idle)" where it does. Neither is work of the job.
      if (node.callFrame.functionName === '(idle)' || node.callFrame.functionName === '(program)') {
        unattributed += weight;
        continue;
      }
      busy += weight;
      self.set(name, (self.get(name) ?? 0) + weight);
      const pk = packageOf(node.callFrame.url, node.callFrame.functionName);
      pkg.set(pk, (pkg.get(pk) ?? 0) + weight);
      const seen = new Set<string>();
      for (let id: number | undefined = node.id; id !== undefined; id = parent.get(id)) {
        const n = byId.get(id)!;
        if (!n.callFrame.url.includes('/dist/') || n.callFrame.url.includes('node_modules')) continue;
        const key = frameName(n);
        if (seen.has(key)) continue;
        seen.add(key);
        inclusive.set(key, (inclusive.get(key) ?? 0) + weight);
      }
    }
    const ranked = (m: Map<string, number>, n: number) =>
      [...m.entries()]
        .sort((a, b) => b[1] - a[1])
        .slice(0, n)
        .map(([name, ms]) => ({ name, ms, share: busy > 0 ? ms / busy : 0 }));
    if (busy < 1) continue;
    out.push({
      file,
      windowMs: (to - from) / 1000,
      busyMs: busy,
      unattributedMs: unattributed,
      top: ranked(self, topN),
      byPackage: ranked(pkg, 10),
      lifeboatInclusive: ranked(inclusive, 10),
    });
  }
  return out.sort((a, b) => b.busyMs - a.busyMs);
}
