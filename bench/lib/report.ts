// Turns the measurements into the markdown of docs/benchmarks.md: one table per workload, Lifeboat's
// ratios to each peer and to the raw floor, and the issue's targets with whether each was met.
import type { RequestCounts } from './rgw-log';
import type { Verification } from './data';
import type { ProfileSummary } from './profile';

export type Scenario = 'small' | 'large' | 'pitr';

export interface Measurement {
  scenario: Scenario;
  tool: string;
  /** What the tool was asked to copy (the verification checks the target holds exactly that). */
  objects: number;
  bytes: number;
  wallSeconds: number;
  /** With --repeat: the wall time of every run (the row shows the median run). */
  wallRuns?: number[];
  /** User + system CPU of the tool's own process (the Lifeboat worker's, for Lifeboat). */
  cpuSeconds: number;
  peakRssKb: number;
  requests?: RequestCounts;
  /** Lifeboat: requests implied by its plan (checks, list pages, target listings, manifests, copies, report). */
  plannedRequests?: number;
  historyEvents?: number;
  /** CPU of RGW (both zones) and the OSD during the run; Temporal server's; everything else on the machine. */
  storageCpu: number;
  temporalCpu: number;
  otherCpu: number;
  /** CPU seconds of the whole machine during the run (every process, interrupts included). */
  machineCpu?: number;
  verification: Verification;
  ok: boolean;
  notes: string[];
}

export interface ReportMeta {
  date: string;
  machine: string;
  concurrency: number;
  repeat?: number;
  small: number;
  large: number;
  largeNote?: string;
  versions: Record<string, string>;
  command: string;
  memoryFlat?: { smallJobKb: number; warmupKb: number; warmupObjects: number; objects: number };
  profile?: {
    summaries: ProfileSummary[];
    wallSeconds: number;
    cpuSeconds: number;
    objects: number;
    reason: string;
  };
  warnings: string[];
}

export const LIFEBOAT = 'Lifeboat';
export const FLOOR = 'raw floor (same S3 calls as Lifeboat)';
export const FLOOR_PLAIN = 'raw floor, plain copy';

const TITLES: Record<Scenario, string> = {
  small: 'Small objects: bucket-to-bucket copy',
  large: 'Large objects: bucket-to-bucket copy',
  pitr: 'Point-in-time restore into another bucket',
};

const f = (n: number, digits = 1) => (Number.isFinite(n) ? n.toFixed(digits) : 'n/a');
const times = (n: number) => (Number.isFinite(n) ? `${n.toFixed(2)}×` : 'n/a');
const objectsPerSecond = (m: Measurement) => m.objects / m.wallSeconds;
const mbPerSecond = (m: Measurement) => m.bytes / 1e6 / m.wallSeconds;

function requestsCell(m: Measurement): string {
  if (!m.requests || m.requests.total === 0) return 'n/a';
  const perObject = f(m.requests.total / m.objects, 3);
  const kinds = Object.entries(m.requests.byKind)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  return `${perObject} (${kinds})`;
}

function describeSize(s: Scenario, meta: ReportMeta): string {
  if (s === 'large')
    return (
      `${meta.large} objects of 64 MiB. Within one zone RGW copies an object by referring to the source's stored data ` +
      'instead of writing it again, so a CopyObject of 64 MiB costs about as much as one of 4 KiB: these MB/s are ' +
      "request rates, not bytes moved (the secondary zone then fetches the new objects' bytes, outside the timing). " +
      'The AWS CLI copies objects above 8 MiB in 8 MiB parts (UploadPartCopy), which copies the bytes'
    );
  if (s === 'pitr')
    return `${meta.small} keys of 4 KiB, versioned; after T, 25% overwritten and 25% deleted; restored as of T into an empty bucket (${meta.small} copies of the version live at T)`;
  return `${meta.small} objects of 4 KiB`;
}

function table(rows: Measurement[]): string[] {
  const lines = [
    '| tool | wall s | objects/s | MB/s | client CPU s | CPU ms/object | peak RSS MiB | S3 requests/object (by kind) | requests in flight at RGW (mean) | history events/1,000 objects | RGW+OSD CPU ms/object | whole machine CPU ms/object | verified |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | --- | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const m of rows) {
    if (!m.ok && !m.verification.ok && m.verification.objects === 0) {
      lines.push(
        `| ${m.tool} | failed | | | | | | | | | **NO**: ${m.verification.problems.slice(0, 2).join('; ')} |`,
      );
      continue;
    }
    const verified = m.verification.ok
      ? `yes${m.wallRuns ? ` (each of ${m.wallRuns.length} runs)` : ''}: ${m.verification.objects} objects, ${m.verification.sampled} read back`
      : `**NO**: ${m.verification.problems.slice(0, 3).join('; ')}`;
    lines.push(
      `| ${m.tool} | ${f(m.wallSeconds, 2)}${m.wallRuns ? ` (${f(Math.min(...m.wallRuns), 1)}–${f(Math.max(...m.wallRuns), 1)})` : ''} | ${f(objectsPerSecond(m))} | ${f(mbPerSecond(m))} | ${f(m.cpuSeconds, 2)} | ${f((m.cpuSeconds * 1000) / m.objects, 2)} | ${f(m.peakRssKb / 1024, 0)} | ${requestsCell(m)} | ${m.requests && m.requests.total > 0 ? f(m.requests.latencySeconds / m.wallSeconds, 1) : 'n/a'} | ${m.historyEvents !== undefined ? f((m.historyEvents * 1000) / m.objects, 1) : 'n/a'} | ${f((m.storageCpu * 1000) / m.objects, 2)} | ${m.machineCpu !== undefined ? f((m.machineCpu * 1000) / m.objects, 2) : 'n/a'} | ${verified} |`,
    );
  }
  return lines;
}

function ratio(
  a: Measurement | undefined,
  b: Measurement | undefined,
  by: (m: Measurement) => number,
): number {
  if (!a || !b || !a.ok || !b.ok) return NaN;
  return by(a) / by(b);
}

export interface Target {
  text: string;
  value: number;
  goal: number;
}

export function targets(all: Measurement[], meta: ReportMeta): Target[] {
  const get = (s: Scenario, tool: string) => all.find((m) => m.scenario === s && m.tool === tool);
  const lb = (s: Scenario) => get(s, LIFEBOAT);
  const out: Target[] = [
    {
      text: 'small objects: objects/s ≥ 1.0× s5cmd',
      value: ratio(lb('small'), get('small', 's5cmd'), objectsPerSecond),
      goal: 1.0,
    },
    {
      text: 'small objects: objects/s ≥ 1.5× rclone',
      value: ratio(lb('small'), get('small', 'rclone'), objectsPerSecond),
      goal: 1.5,
    },
    {
      text: 'point-in-time restore (small objects): objects/s ≥ 3× s3-pit-restore',
      value: ratio(lb('pitr'), get('pitr', 's3-pit-restore'), objectsPerSecond),
      goal: 3,
    },
    {
      text: 'small objects: objects/s ≥ 0.9× the raw floor',
      value: ratio(lb('small'), get('small', FLOOR), objectsPerSecond),
      goal: 0.9,
    },
    {
      text: '(for reference, not a target) small objects: objects/s ÷ the plain-copy floor',
      value: ratio(lb('small'), get('small', FLOOR_PLAIN), objectsPerSecond),
      goal: NaN,
    },
    {
      text: 'large objects: MB/s ≥ 0.9× the raw floor',
      value: ratio(lb('large'), get('large', FLOOR), mbPerSecond),
      goal: 0.9,
    },
    {
      text: 'point-in-time restore: objects/s ≥ 0.9× the raw floor',
      value: ratio(lb('pitr'), get('pitr', FLOOR), objectsPerSecond),
      goal: 0.9,
    },
  ];
  if (meta.memoryFlat) {
    out.push({
      text: `worker memory flat as the object count grows: peak RSS of the ${meta.memoryFlat.objects}-object job ≤ 1.2× that of the ${meta.memoryFlat.warmupObjects}-object job`,
      value: meta.memoryFlat.smallJobKb / meta.memoryFlat.warmupKb,
      goal: 1.2,
    });
  }
  return out;
}

export function renderReport(all: Measurement[], meta: ReportMeta): string {
  const out: string[] = [
    '# Benchmarks',
    '',
    'Produced by `npm run bench` ([bench/run.ts](../bench/run.ts)); every number below comes from one run of it',
    `(\`${meta.command}\`). Re-run it to refresh this page.`,
    '',
    `- Date: ${meta.date}`,
    `- Machine: ${meta.machine}. The S3 server (Ceph RGW, two zones, in-memory OSD), the Temporal dev server and the tools share these cores.`,
    ...(meta.repeat && meta.repeat > 1
      ? [
          `- Runs: each tool ran ${meta.repeat} times, in rounds (every tool once per round); each row is the tool's median run by wall time, with the fastest and slowest in brackets, and the highest peak RSS of its runs.`,
        ]
      : []),
    `- Concurrency: ${meta.concurrency} requests in flight for every tool (Lifeboat \`concurrency\`, rclone \`--transfers\`/\`--checkers\`, s5cmd \`--numworkers\`, AWS CLI \`max_concurrent_requests\`, s3-pit-restore \`--max-workers\`, the floor's workers).`,
    `- Sizes: ${meta.small} objects of 4 KiB; ${meta.large} objects of 64 MiB${meta.largeNote ? ` (${meta.largeNote})` : ''}.`,
    `- Tools: ${Object.entries(meta.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join('; ')}.`,
    '',
    'How it measures:',
    '',
    '- Every tool copies the same source bucket on the primary zone (http://127.0.0.1:7480) into a fresh, empty bucket; the target is then checked (exact key set, sizes, ETags where the copy keeps them, and objects read back byte for byte) and deleted. A tool whose output is wrong is marked **NO** and never counted as fast.',
    '- Before each run the benchmark waits until the secondary zone has replicated the previous writes and the machine is idle; each run still pays for the replication of its own writes, like any client of this stack.',
    "- Wall time: from the tool's start to its exit; for Lifeboat, from the workflow start request to its result, on a worker already running (it had run one warm-up job). Objects/s and MB/s are objects and bytes copied divided by wall time (MB = 10^6 bytes).",
    "- Client CPU and peak RSS: the tool's process (GNU time), for Lifeboat the `lifeboat worker` process (CPU from /proc during the job, peak RSS reset just before the job). The Temporal server's CPU is not in Lifeboat's client CPU: it is given below each table.",
    "- S3 requests: counted in RGW's access log (the application user's requests to the source and target buckets, and for Lifeboat its reports bucket), divided by the objects copied. `put` is PutObject or CopyObject, `part` UploadPart(Copy), `multipart` the multipart upload calls, `list` the listings.",
    '- Temporal history events: all events of the job (every run of it), per 1,000 objects.',
    '- RGW+OSD CPU: both RGW processes (the secondary zone replicates every write as it happens) and the OSD, per object copied; whole machine CPU: every process and interrupt handling on the machine during the run, per object. With the two cores busy throughout, objects/s is about 2,000 ÷ the whole-machine ms per object: a tool is fast when its requests cost the server little and itself little.',
    "- Requests in flight at RGW: the sum of the latencies RGW logged for the tool's requests divided by the wall time; below the concurrency when the client does not keep its requests in flight (listing before copying, waiting between pages, a busy event loop).",
    "- The raw floor: [bench/floor.ts](../bench/floor.ts), a Node script with the same S3 client as Lifeboat (AWS SDK v3, keep-alive agent) and no orchestration, copying while it lists. `raw floor (same S3 calls as Lifeboat)` makes Lifeboat's calls: ListObjectVersions, then one CopyObject per key of the version live at the start (at T for the restore), with `?versionId=` and Lifeboat's metadata and tagging directives; it is the floor the targets use. `raw floor, plain copy` makes the fewest calls a copy needs: ListObjectsV2 and one CopyObject of each current object, like the peer tools; the difference between the two floors is what copying pinned versions costs on this server.",
    '',
  ];
  for (const s of ['small', 'large', 'pitr'] as Scenario[]) {
    const rows = all.filter((m) => m.scenario === s);
    if (rows.length === 0) continue;
    out.push(`## ${TITLES[s]}`, '', `${describeSize(s, meta)}.`, '', ...table(rows), '');
    const lb = rows.find((m) => m.tool === LIFEBOAT);
    if (lb) {
      out.push(
        `Lifeboat ÷ each (higher is better for Lifeboat):`,
        '',
        '| Lifeboat ÷ | objects/s | MB/s |',
        '| --- | ---: | ---: |',
      );
      for (const m of rows.filter((r) => r !== lb))
        out.push(
          `| ${m.tool} | ${times(ratio(lb, m, objectsPerSecond))} | ${times(ratio(lb, m, mbPerSecond))} |`,
        );
      out.push('');
    }
    const notes = rows.flatMap((m) => m.notes.map((n) => `- ${m.tool}: ${n}`));
    const side = rows.map(
      (m) => `${m.tool} ${f(m.temporalCpu, 1)} s Temporal server, ${f(m.otherCpu, 1)} s other processes`,
    );
    out.push(`CPU elsewhere on the machine during each run: ${side.join('; ')}.`, '');
    if (notes.length > 0) out.push('Notes:', '', ...notes, '');
  }
  out.push('## Targets (issue 3)', '', '| target | measured | met |', '| --- | ---: | --- |');
  for (const t of targets(all, meta)) {
    const met = Number.isNaN(t.goal)
      ? 'n/a'
      : Number.isNaN(t.value)
        ? 'not measured'
        : t.text.includes('≤')
          ? t.value <= t.goal
          : t.value >= t.goal;
    out.push(`| ${t.text} | ${times(t.value)} | ${met === true ? 'yes' : met === false ? '**no**' : met} |`);
  }
  out.push('');
  if (meta.memoryFlat) {
    out.push(
      `Worker peak RSS: ${f(meta.memoryFlat.warmupKb / 1024, 0)} MiB during the ${meta.memoryFlat.warmupObjects}-object warm-up job, ${f(meta.memoryFlat.smallJobKb / 1024, 0)} MiB during the ${meta.memoryFlat.objects}-object job.`,
      '',
    );
  }
  if (meta.profile) {
    const p = meta.profile;
    out.push(
      '## Where the worker spends its CPU',
      '',
      `${p.reason} A second run of the small-object copy with the worker under \`node --cpu-prof\` (${p.objects} objects in ${f(p.wallSeconds, 1)} s, worker CPU ${f(p.cpuSeconds, 1)} s; profiling slows it down). Self time in the job's window on the worker's main thread, ${f((p.summaries[0]?.busyMs ?? 0) / 1000, 1)} s attributed to functions (another ${f((p.summaries[0]?.unattributedMs ?? 0) / 1000, 1)} s sampled as "(program)" or "(idle)": the event loop waiting, or native work V8 cannot attribute). The profiles are kept in dist/bench/cpu-profile/.`,
      '',
    );
    const main = p.summaries[0];
    if (main) {
      out.push('| function | self ms | share |', '| --- | ---: | ---: |');
      for (const h of main.top) out.push(`| \`${h.name}\` | ${f(h.ms, 0)} | ${f(h.share * 100, 1)}% |`);
      out.push('', 'By package:', '', '| package | self ms | share |', '| --- | ---: | ---: |');
      for (const h of main.byPackage) out.push(`| ${h.name} | ${f(h.ms, 0)} | ${f(h.share * 100, 1)}% |`);
      out.push(
        '',
        "Lifeboat's own functions, inclusive time (their callees counted):",
        '',
        '| function | ms | share |',
        '| --- | ---: | ---: |',
      );
      for (const h of main.lifeboatInclusive)
        out.push(`| \`${h.name}\` | ${f(h.ms, 0)} | ${f(h.share * 100, 1)}% |`);
      out.push('');
    }
  }
  if (meta.warnings.length > 0) out.push('## Warnings', '', ...meta.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}
