// Turns the measurements into the markdown of docs/benchmarks.md: one table per workload, Lifeboat's
// ratios to each peer and to the raw floor, and the issue's targets with whether each was met. The
// in-place restore (scenario pitr-inplace) has a page of its own, docs/benchmarks-pitr-inplace.md
// (renderInPlaceReport), so that a run of that scenario alone does not replace the other numbers.
import type { RequestCounts } from './rgw-log';
import type { InPlaceVerification } from './data';
import type { ProfileSummary } from './profile';

export type Scenario = 'small' | 'large' | 'pitr' | 'pitr-inplace';

/** The scenarios of docs/benchmarks.md; pitr-inplace is on its own page. */
export const MAIN_SCENARIOS: readonly Scenario[] = ['small', 'large', 'pitr'];

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
  verification: InPlaceVerification;
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
  /** The scenarios this run was asked for (absent in runs saved before pitr-inplace existed). */
  scenarios?: Scenario[];
  /** pitr-inplace: the keys, and how many were overwritten and deleted after T. */
  inPlace?: { keys: number; overwritten: number; deleted: number };
}

export const LIFEBOAT = 'Lifeboat';
export const FLOOR = 'raw floor (same S3 calls as Lifeboat)';
export const FLOOR_PLAIN = 'raw floor, plain copy';
export const FLOOR_NAIVE_IN_PLACE = "raw floor, naive in place (copies every key's version at T)";

const TITLES: Record<Scenario, string> = {
  small: 'Small objects: bucket-to-bucket copy',
  large: 'Large objects: bucket-to-bucket copy',
  pitr: 'Point-in-time restore into another bucket',
  'pitr-inplace': 'Point-in-time restore in place',
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
  /** Measured by this scenario (the page that shows it when this run did not measure it). */
  scenario?: Scenario;
  /**
   * A target relative to a peer tool: the same ratio for the same-calls raw floor, i.e. what a client
   * making Lifeboat's S3 calls with no orchestration at all reached against that peer in this run.
   */
  floorValue?: number;
}

export function targets(all: Measurement[], meta: ReportMeta): Target[] {
  const get = (s: Scenario, tool: string) => all.find((m) => m.scenario === s && m.tool === tool);
  const lb = (s: Scenario) => get(s, LIFEBOAT);
  const out: Target[] = [
    {
      text: 'small objects: objects/s ≥ 1.0× s5cmd',
      value: ratio(lb('small'), get('small', 's5cmd'), objectsPerSecond),
      floorValue: ratio(get('small', FLOOR), get('small', 's5cmd'), objectsPerSecond),
      goal: 1.0,
    },
    {
      text: 'small objects: objects/s ≥ 1.5× rclone',
      value: ratio(lb('small'), get('small', 'rclone'), objectsPerSecond),
      floorValue: ratio(get('small', FLOOR), get('small', 'rclone'), objectsPerSecond),
      goal: 1.5,
    },
    {
      text: 'point-in-time restore (small objects): objects/s ≥ 3× s3-pit-restore',
      value: ratio(lb('pitr'), get('pitr', 's3-pit-restore'), objectsPerSecond),
      floorValue: ratio(get('pitr', FLOOR), get('pitr', 's3-pit-restore'), objectsPerSecond),
      goal: 3,
      scenario: 'pitr',
    },
    {
      text: 'point-in-time restore in place after a bad deploy touching 12% of keys: ≥3× s3-pit-restore',
      value: ratio(lb('pitr-inplace'), get('pitr-inplace', 's3-pit-restore'), objectsPerSecond),
      goal: 3,
      scenario: 'pitr-inplace',
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

/** The file names the pages link to each other by. */
export interface Pages {
  main: string;
  inPlace: string;
}

const DEFAULT_PAGES: Pages = { main: 'benchmarks.md', inPlace: 'benchmarks-pitr-inplace.md' };

/** Was this scenario part of the run (runs saved without `scenarios`: did it measure anything)? */
export function ranScenario(all: Measurement[], meta: ReportMeta, s: Scenario): boolean {
  return meta.scenarios ? meta.scenarios.includes(s) : all.some((m) => m.scenario === s);
}

/**
 * The targets table. A target of a scenario this run did not measure, whose numbers are on another
 * page (`elsewhere`), links there instead of saying "not measured".
 */
function targetTable(
  list: Target[],
  all: Measurement[],
  meta: ReportMeta,
  elsewhere: (t: Target) => string | undefined,
): string[] {
  const out = [
    "| target | measured | the same ratio for the raw floor (Lifeboat's S3 calls, no orchestration) | met |",
    '| --- | ---: | ---: | --- |',
  ];
  for (const t of list) {
    const page = t.scenario && !ranScenario(all, meta, t.scenario) ? elsewhere(t) : undefined;
    if (page) {
      out.push(`| ${t.text} | on [${page}](${page}) | | see there |`);
      continue;
    }
    const floor = t.floorValue === undefined || Number.isNaN(t.floorValue) ? '' : times(t.floorValue);
    const met = Number.isNaN(t.goal)
      ? 'n/a'
      : Number.isNaN(t.value)
        ? 'not measured'
        : t.text.includes('≤')
          ? t.value <= t.goal
          : t.value >= t.goal;
    out.push(
      `| ${t.text} | ${times(t.value)} | ${floor} | ${met === true ? 'yes' : met === false ? '**no**' : met} |`,
    );
  }
  return out;
}

export function renderReport(all: Measurement[], meta: ReportMeta, pages: Pages = DEFAULT_PAGES): string {
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
          `- Runs: each tool ran ${meta.repeat} times, in rounds (every tool once per round, in an order that goes forward in odd rounds and backward in even ones, because the store slows as a run goes on); each row is the tool's median run by wall time, with the fastest and slowest in brackets, and the highest peak RSS of its runs.`,
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
    "- The raw floor: [bench/floor.ts](../bench/floor.ts), a Node script with the same S3 client as Lifeboat (AWS SDK v3 for listings, Lifeboat's lean signed CopyObject of [activities/s3/fast-copy.ts](../activities/s3/fast-copy.ts) for copies, keep-alive agents) and no orchestration, copying while it lists. `raw floor (same S3 calls as Lifeboat)` makes Lifeboat's calls: ListObjectVersions, then one CopyObject per key of the version live at the start (at T for the restore), with `?versionId=` and Lifeboat's metadata and tagging directives; it is the floor the targets use. `raw floor, plain copy` makes the fewest calls a copy needs: ListObjectsV2 and one CopyObject of each current object, like the peer tools; the difference between the two floors is what copying pinned versions costs on this server.",
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
  out.push(
    `## ${TITLES['pitr-inplace']}`,
    '',
    `The restore that an incident calls for — a bad deploy overwrote or deleted some keys after T, restore the bucket itself to T — is measured on a page of its own, [${pages.inPlace}](${pages.inPlace}) (\`npm run bench -- --only pitr-inplace\`, so that it can be run alone without replacing the numbers above). There Lifeboat's planner leaves alone the keys that already read as they did at T, while a restore tool that copies every key's version at T writes all of them again.`,
    '',
  );
  out.push(
    '## Targets (issue 3)',
    '',
    ...targetTable(targets(all, meta), all, meta, (t) =>
      t.scenario === 'pitr-inplace' ? pages.inPlace : undefined,
    ),
  );
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

function inPlaceTable(rows: Measurement[]): string[] {
  const lines = [
    '| tool | wall s | keys restored correctly/s | S3 requests/key (by kind) | data versions added | delete markers removed / added | client CPU s | peak RSS MiB | RGW+OSD CPU s | Temporal server CPU s | whole machine CPU s | verified |',
    '| --- | ---: | ---: | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | --- |',
  ];
  for (const m of rows) {
    const v = m.verification.versions;
    const verified = m.verification.ok
      ? `yes${m.wallRuns ? ` (each of ${m.wallRuns.length} runs)` : ''}: ${m.verification.objects} keys with their size and ETag at T, ${m.verification.sampled} read back byte for byte, no version holding data removed`
      : `**NO**: ${m.verification.problems.slice(0, 3).join('; ')}`;
    const perKey = m.requests && m.requests.total > 0 ? requestsCell(m) : 'n/a';
    lines.push(
      `| ${m.tool} | ${f(m.wallSeconds, 2)}${m.wallRuns ? ` (${f(Math.min(...m.wallRuns), 1)}–${f(Math.max(...m.wallRuns), 1)})` : ''} | ${m.ok ? f(objectsPerSecond(m)) : '0 (not restored correctly)'} | ${perKey} | ${v ? v.dataVersionsAdded : 'n/a'} | ${v ? `${v.markersRemoved} / ${v.markersAdded}` : 'n/a'} | ${f(m.cpuSeconds, 2)} | ${f(m.peakRssKb / 1024, 0)} | ${f(m.storageCpu, 1)} | ${f(m.temporalCpu, 1)} | ${m.machineCpu !== undefined ? f(m.machineCpu, 1) : 'n/a'} | ${verified} |`,
    );
  }
  return lines;
}

/** docs/benchmarks-pitr-inplace.md: the restore in place after a bad deploy, from one run. */
export function renderInPlaceReport(
  all: Measurement[],
  meta: ReportMeta,
  pages: Pages = DEFAULT_PAGES,
): string {
  const rows = all.filter((m) => m.scenario === 'pitr-inplace');
  const ip = meta.inPlace ?? { keys: meta.small, overwritten: NaN, deleted: NaN };
  const pct = (k: number) => f((100 * k) / ip.keys, 0);
  const versions = Object.entries(meta.versions)
    .filter(([k]) => ['Lifeboat', 's3-pit-restore', 'Ceph RGW'].includes(k))
    .map(([k, v]) => `${k} ${v}`)
    .join('; ');
  const out: string[] = [
    `# Benchmarks: ${TITLES['pitr-inplace'].toLowerCase()}`,
    '',
    'Produced by `npm run bench` ([bench/run.ts](../bench/run.ts)); every number below comes from one run of it',
    `(\`${meta.command}\`). The other workloads (bulk copy, restore into another bucket, large objects) are on [${pages.main}](${pages.main}); a run of this scenario alone (\`--only pitr-inplace\`) writes only this page.`,
    '',
    `- Date: ${meta.date}`,
    `- Machine: ${meta.machine}. The S3 server (Ceph RGW, two zones, in-memory OSD), the Temporal dev server and the tools share these cores.`,
    ...(meta.repeat && meta.repeat > 1
      ? [
          `- Runs: each tool ran ${meta.repeat} times, in rounds (every tool once per round, in an order that goes forward in odd rounds and backward in even ones, because the store slows as a run goes on); each row is the tool's median run by wall time, with the fastest and slowest in brackets.`,
        ]
      : []),
    `- Concurrency: ${meta.concurrency} requests in flight for every tool (Lifeboat \`concurrency\`, s3-pit-restore \`--max-workers\`, the floor's workers).`,
    `- Tools: ${versions}.`,
    '',
    '## Why a restore in place',
    '',
    `The point-in-time restore on [${pages.main}](${pages.main}) restores a bucket's keys as at T into another, empty bucket: every tool must copy every key, one CopyObject each, and on this machine all of them are bound by the S3 server, so there Lifeboat cannot do much better than s3-pit-restore (see its ratio on that page). The incident a restore is for is usually another one: a bad deploy overwrote or deleted part of a bucket at 10:42, and the bucket itself must read as it did at 10:41. Most keys then already hold the version that was live at T.`,
    '',
    "Lifeboat's planner ([core/pitr.ts](../core/pitr.ts), `planKeyInPlace`) compares each key's current version with the one live at T and leaves the key alone when they are the same; a key deleted after T gets back the version live at T, with its own version id, by removing the delete marker above it (no copy); only keys overwritten after T are copied. s3-pit-restore restoring in place (destination bucket = source bucket) has no such comparison: it copies every key's version at T onto the same key, a new version for every key. So Lifeboat's lead here comes from writing less, not from copying faster: it is as large as the share of keys the incident left alone, and it shrinks as that share does (with every key changed, both write every key). Both still list every version of the bucket. A restore that rewrites every key also costs after it is done: every key gets a new version (stored, and billed on AWS, as long as the versions are kept) and a new LastModified, and replication copies every key again (here the secondary zone replicates each new version, in the RGW+OSD CPU below); Lifeboat adds versions only for the keys it had to copy.",
    '',
    '## What the scenario does',
    '',
    `1. For each tool a fresh versioned bucket, built the same way (a restore changes the bucket, so every tool gets its own copy of the same history): ${ip.keys} keys of 4 KiB (\`dNN/obj-NNNNNN\`, 100 prefixes), one PutObject each; T taken on a whole second, more than a second after the last write; more than a second after T, ${ip.overwritten} keys (${pct(ip.overwritten)}%) overwritten with other bytes and ${ip.deleted} keys (${pct(ip.deleted)}%) deleted (a delete marker each). The changed keys are the same in every bucket: key i is overwritten when (i + 7·⌊i/100⌋) mod 100 < 10 and deleted when it is 10 or 11, i.e. 10 and 2 of every 100 consecutive keys, spread over the key space (at 10,000 keys, 10 and 2 in each of the 100 prefixes). No key is created after T. Then (not timed) the bucket's versions are listed, and the benchmark waits until the secondary zone has replicated the writes and the machine is idle.`,
    '2. The tool restores the bucket in place to T (timed):',
    `   - Lifeboat: \`pointInTimeRestore\` with the bucket as source, \`at\` = T and no target (restore in place; \`deleteKeysCreatedAfter\` defaults to true in place and has nothing to delete here). Its plan: copy the version live at T of the ${ip.overwritten} overwritten keys, remove the delete marker of the ${ip.deleted} deleted keys, leave the others alone; it also takes its lease on the bucket, surveys the whole plan once before its first write (the blast-radius gate; auto-approved here), writes its undo manifests (before touching a page's keys) and its report to its reports bucket.`,
    "   - s3-pit-restore: `s3-pit-restore -b BUCKET -B BUCKET -t T --max-workers 32` (boto3 reads the endpoint from AWS_ENDPOINT_URL). It lists every version and copies each key's version at T onto the same key (CopyObject with the version id), deleted keys included; with the destination bucket equal to the source and no prefix it would also delete keys created after T (none here). It has no option to skip keys that already read as at T: `--from-timestamp` narrows which versions it copies (those written after it), not which keys changed after T, so with it the overwritten and deleted keys whose version at T is older would stay as they are.",
    "   - Raw floor, naive in place: [bench/floor.ts](../bench/floor.ts) with `--src BUCKET --dst BUCKET --versions --at T`: ListObjectVersions and, while it lists, one CopyObject per key of the version live at T (`?versionId=`), with Lifeboat's S3 client and no orchestration. It is what any tool that restores every key must at least do; it does not delete keys created after T (none here).",
    '   - rclone: not run. Its `--s3-version-at` makes the remote read-only, so it can copy the bucket as at T elsewhere (the restore on the other page) but cannot write it back into the bucket it reads.',
    "3. The check (not timed): the bucket's current keys are exactly the original keys, each with the size and ETag of its bytes at T (from the listing); the bytes of every changed key and of 100 unchanged keys are read back and compared; the versions are listed again: no version holding data may have gone, and delete markers may have been removed only from keys deleted after T. The data versions and delete markers added and removed are counted. Then the bucket is deleted.",
    '',
    'How the numbers are defined:',
    '',
    `- **Keys restored correctly per second** (the objects/s of the target): the ${ip.keys} keys of the bucket divided by the wall time, for a tool whose result passed the check (one that did not counts 0). It is the rate at which the whole key space is brought back to T, whatever each tool had to write to get there: it is not a rate of copies.`,
    "- Wall time: from the tool's start to its exit; for Lifeboat from the workflow start request to its result, on a worker already running (it ran a warm-up job).",
    "- S3 requests per key: the requests in RGW's access log to the bucket (and, for Lifeboat, to its reports bucket) divided by the keys of the bucket; `put` is CopyObject or PutObject, `delete` DeleteObject (Lifeboat: of a delete marker by its version id), `list` the listings, `bucket` bucket checks.",
    '- Data versions added: new versions holding data (one per copy). Delete markers removed / added: from the version listings before and after.',
    "- CPU: client CPU is the tool's process (GNU time; for Lifeboat the `lifeboat worker` process); RGW+OSD, Temporal server and whole machine CPU are seconds during the run (the secondary zone replicating each new version is in RGW+OSD).",
    '',
    '## Results',
    '',
    ...(rows.length > 0 ? inPlaceTable(rows) : ['Not measured in this run.']),
    '',
  ];
  const lb = rows.find((m) => m.tool === LIFEBOAT);
  if (lb) {
    out.push(
      'Lifeboat ÷ each (higher is better for Lifeboat):',
      '',
      '| Lifeboat ÷ | keys restored correctly/s | S3 requests/key (lower is better: the peer ÷ Lifeboat) |',
      '| --- | ---: | ---: |',
    );
    for (const m of rows.filter((r) => r !== lb)) {
      const req =
        lb.requests && m.requests && lb.requests.total > 0 ? m.requests.total / lb.requests.total : NaN;
      out.push(`| ${m.tool} | ${times(ratio(lb, m, objectsPerSecond))} | ${times(req)} |`);
    }
    out.push('');
  }
  const side = rows.map(
    (m) =>
      `${m.tool} ${f(m.otherCpu, 1)} s other processes${m.otherCpu > 0.25 * m.wallSeconds ? ' (its numbers are likely low)' : ''}`,
  );
  if (rows.length > 0)
    out.push(`CPU of other processes on the machine during each run: ${side.join('; ')}.`, '');
  const notes = rows.flatMap((m) => m.notes.map((n) => `- ${m.tool}: ${n}`));
  if (notes.length > 0) out.push('Notes:', '', ...notes, '');
  out.push(
    '## Targets (issue 3)',
    '',
    `Both point-in-time restore targets; the others are on [${pages.main}](${pages.main}).`,
    '',
    ...targetTable(
      targets(all, meta).filter((t) => t.text.includes('s3-pit-restore')),
      all,
      meta,
      (t) => (t.scenario === 'pitr-inplace' ? undefined : pages.main),
    ),
    '',
  );
  if (meta.warnings.length > 0) out.push('## Warnings', '', ...meta.warnings.map((w) => `- ${w}`), '');
  return out.join('\n');
}
