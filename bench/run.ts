// `npm run bench`: Lifeboat's bulk copy and point-in-time restore against rclone, s5cmd, the AWS CLI,
// s3-pit-restore and a raw floor, on the same data on the local RGW with the same concurrency; writes
// docs/benchmarks.md, and docs/benchmarks-pitr-inplace.md for the restore in place (pitr-inplace). A run
// writes only the pages of the scenarios it was asked for. Not a test: it takes minutes and its numbers
// depend on the machine.
//   node dist/bench/bench/run.js [--small N] [--large M] [--concurrency C]
//                                [--only small,pitr,pitr-inplace,large]
//                                [--tools lifeboat,floor,s5cmd,rclone,aws,s3-pit-restore]
//                                [--repeat R] [--out FILE] [--profile auto|always|never]
//                                [--quiet-wait S]   (the longest wait for an idle machine before a measurement, 300)
//   node dist/bench/bench/run.js --render dist/bench/last-run.json   (the pages again, from saved numbers)
// --out FILE names the main page; the in-place page is written beside it as FILE-pitr-inplace.md. The
// numbers are saved in dist/bench/last-run.json (dist/bench/last-run-pitr-inplace.json for a run of
// pitr-inplace alone). LIFEBOAT_STACK_DIR points to the local stack of another checkout.
import { S3Client } from '@aws-sdk/client-s3';
import { Client } from '@temporalio/client';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir, totalmem } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import { format, resolveConfig } from 'prettier';
import { createS3Client } from '../worker/clients';
import { localStackConfig, projectRoot, readStackProfile, stackDir } from '../worker/config';
import {
  deleteAll,
  Expected,
  inPlaceChange,
  InPlaceVerification,
  LARGE_BYTES,
  LargeBodies,
  largeKey,
  md5,
  putAll,
  sampleOf,
  SMALL_BYTES,
  smallBody,
  smallKey,
  verifyInPlace,
  verifyTarget,
} from './lib/data';
import {
  connect,
  historyEvents,
  LifeboatWorker,
  runJob,
  runningWorkers,
  startWorker,
  stopWorker,
  terminateUnfinished,
  writeWorkerConfig,
} from './lib/lifeboat';
import {
  awsCopy,
  Endpoint,
  findPeers,
  PeerPaths,
  rcloneCopy,
  s3PitRestore,
  s5cmdCopy,
  toolVersions,
} from './lib/peers';
import {
  cpuDelta,
  cpuSnapshot,
  processCpuSeconds,
  resetPeakRss,
  rssKb,
  peakRssKb,
  ServerPids,
  serverPids,
  threadCpuSeconds,
} from './lib/proc';
import { summariseProfiles } from './lib/profile';
import {
  FLOOR,
  FLOOR_NAIVE_IN_PLACE,
  FLOOR_PLAIN,
  LIFEBOAT,
  MAIN_SCENARIOS,
  Measurement,
  Pages,
  ranScenario,
  renderInPlaceReport,
  renderReport,
  ReportMeta,
  Scenario,
  targets,
} from './lib/report';
import { countRequests, logOffset } from './lib/rgw-log';
import { bucketsStartingWith, createBucket, deleteBucket, listVersions, VersionListed } from './lib/s3';
import { Ceph, waitQuiet } from './lib/stack';
import { timed } from './lib/timed';

const GiB = 1024 ** 3;
/** The most benchmark data (source and one target, before replication) kept at once on the 8 GiB store. */
const DATA_LIMIT_BYTES = 2.5 * GiB;
const FALLBACK_LARGE = 16;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Set on SIGINT: no new measurement starts while the clean-up runs. */
let interrupted = false;

type ToolId = 'lifeboat' | 'floor' | 's5cmd' | 'rclone' | 'aws' | 's3-pit-restore';

interface Context {
  root: string;
  runId: string;
  tmpDir: string;
  s3: S3Client;
  endpoint: Endpoint;
  peers: PeerPaths;
  pids: ServerPids;
  ceph: Ceph;
  rgwLog: string;
  client: Client;
  worker: LifeboatWorker;
  reportsBucket: string;
  concurrency: number;
  /** The longest wait for a quiet machine before a measurement (seconds). */
  quietWait: number;
  created: Set<string>;
  /** Every measurement so far (each run), kept for the page when a later step fails. */
  done: Measurement[];
  warnings: string[];
  tools: Set<ToolId>;
}

/** What one run of a tool gave, before verification. */
interface Outcome {
  wallSeconds: number;
  cpuSeconds: number;
  peakRssKb: number;
  ok: boolean;
  error?: string;
  plannedRequests?: number;
  historyEvents?: number;
  notes?: string[];
}

function log(message: string) {
  console.error(`[bench ${new Date().toISOString().slice(11, 19)}] ${message}`);
}

function parseOptions() {
  const { values } = parseArgs({
    options: {
      small: { type: 'string', default: '10000' },
      large: { type: 'string', default: '32' },
      concurrency: { type: 'string', default: '32' },
      only: { type: 'string', default: 'small,pitr,pitr-inplace,large' },
      tools: { type: 'string', default: 'lifeboat,floor,s5cmd,rclone,aws,s3-pit-restore' },
      out: { type: 'string' },
      profile: { type: 'string', default: 'auto' },
      render: { type: 'string' },
      repeat: { type: 'string', default: '1' },
      'quiet-wait': { type: 'string', default: '300' },
    },
  });
  const num = (name: string, v: string) => {
    const n = Number(v);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a whole number of at least 1`);
    return n;
  };
  const only = values.only.split(',') as Scenario[];
  const unknown = only.filter((s) => ![...MAIN_SCENARIOS, 'pitr-inplace'].includes(s));
  if (unknown.length > 0) throw new Error(`--only: unknown scenario(s) ${unknown.join(', ')}`);
  return {
    small: num('small', values.small),
    large: num('large', values.large),
    concurrency: num('concurrency', values.concurrency),
    only: new Set(only),
    tools: new Set(values.tools.split(',') as ToolId[]),
    out: values.out,
    profile: values.profile as 'auto' | 'always' | 'never',
    render: values.render,
    repeat: num('repeat', values.repeat),
    quietWait: num('quiet-wait', values['quiet-wait']),
  };
}

/**
 * Creates the target (with `prepare`, fills it: a restore in place works on its target), waits for a
 * quiet machine, runs the tool, counts its requests, verifies, cleans up.
 */
async function measure(
  ctx: Context,
  spec: {
    scenario: Scenario;
    tool: string;
    /** The bucket the tool reads, when it is not the target. */
    source?: string;
    objects: number;
    bytes: number;
    run: (target: string) => Promise<Outcome>;
    verify: (target: string) => Promise<InPlaceVerification>;
    freeData?: boolean;
    /** Versioning on the target. */
    versioned?: boolean;
    /** Not timed: fills the new target before the wait for a quiet machine. */
    prepare?: (target: string) => Promise<void>;
  },
): Promise<Measurement> {
  if (interrupted) throw new Error('interrupted');
  const target = `${ctx.runId}-${spec.scenario}-${spec.tool.replace(/[^a-z0-9]+/gi, '').toLowerCase()}`
    .slice(0, 63)
    .replace(/-+$/, '');
  await createBucket(ctx.s3, target, spec.versioned ?? false);
  ctx.created.add(target);
  if (spec.prepare) {
    log(`${spec.scenario}: preparing ${target} for ${spec.tool}`);
    await spec.prepare(target);
  }
  const quiet = await waitQuiet(ctx.ceph, ctx.pids, ctx.quietWait);
  if (quiet.warning) ctx.warnings.push(`${spec.scenario} / ${spec.tool}: ${quiet.warning}`);
  log(`${spec.scenario}: ${spec.tool} (waited ${quiet.waitedSeconds.toFixed(0)} s for a quiet machine)`);
  const offset = logOffset(ctx.rgwLog);
  const before = cpuSnapshot(ctx.pids);
  const outcome = await spec.run(target);
  const cpu = cpuDelta(before, cpuSnapshot(ctx.pids));
  await sleep(1500); // RGW's log is written asynchronously
  const requests = countRequests(
    ctx.rgwLog,
    offset,
    new Set([...(spec.source ? [spec.source] : []), target, ctx.reportsBucket]),
    'lifeboat-sync',
  );
  const verification: InPlaceVerification = outcome.ok
    ? await spec.verify(target)
    : {
        ok: false,
        objects: 0,
        bytes: 0,
        sampled: 0,
        problems: [`the tool failed: ${outcome.error ?? 'unknown error'}`],
      };
  try {
    await deleteBucket(ctx.s3, target);
    ctx.created.delete(target);
  } catch (err) {
    // Left for the final clean-up (it deletes every bucket of the run): not a reason to stop here.
    log(`  could not delete ${target} yet: ${(err as Error).message}`);
  }
  if (spec.freeData) {
    await waitQuiet(ctx.ceph, ctx.pids, Math.min(120, ctx.quietWait));
    await ctx.ceph.collectGarbage();
  }
  const isLifeboat = spec.tool === LIFEBOAT;
  const m: Measurement = {
    scenario: spec.scenario,
    tool: spec.tool,
    objects: spec.objects,
    bytes: spec.bytes,
    wallSeconds: outcome.wallSeconds,
    cpuSeconds: outcome.cpuSeconds,
    peakRssKb: outcome.peakRssKb,
    requests,
    plannedRequests: outcome.plannedRequests,
    historyEvents: outcome.historyEvents,
    storageCpu: cpu.storage,
    temporalCpu: cpu.temporal,
    otherCpu: Math.max(0, cpu.machineBusy - cpu.storage - cpu.temporal - outcome.cpuSeconds),
    machineCpu: cpu.machineBusy,
    verification,
    ok: outcome.ok && verification.ok,
    notes: [...(outcome.notes ?? [])],
  };
  if (isLifeboat && outcome.plannedRequests !== undefined)
    m.notes.push(
      `S3 requests implied by its plan: ${outcome.plannedRequests} (${(outcome.plannedRequests / spec.objects).toFixed(3)} per ${spec.scenario === 'pitr-inplace' ? 'key' : 'object'}); counted in RGW's log: ${requests.total}${spec.scenario === 'pitr-inplace' ? " (the plan's count leaves out the key count run beside the restore for its ETA: one listing per 1,000 versions)" : ''}.`,
    );
  const v = verification.versions;
  if (v)
    m.notes.push(
      `versions: ${v.dataVersionsAdded} holding data added, ${v.dataVersionsRemoved} removed; delete markers: ${v.markersRemoved} removed, ${v.markersAdded} added.`,
    );
  // Not the tool (started during the run, or the worker), not the servers counted in their own columns.
  const known = new Set([
    ctx.pids.rgwPrimary,
    ctx.pids.rgwSecondary,
    ctx.pids.osd,
    ctx.pids.temporal,
    ctx.worker?.pid,
  ]);
  const others = cpu.top.filter((p) => !p.started && !known.has(p.pid) && p.seconds >= 0.3);
  m.notes.push(
    `CPU used elsewhere during the run: ${cpu.irq.toFixed(1)} s interrupts (loopback network)${others.map((p) => `, ${p.name} ${p.seconds.toFixed(1)} s`).join('')}.`,
  );
  if (m.otherCpu > 0.25 * m.wallSeconds)
    m.notes.push(
      `other processes on the machine used ${m.otherCpu.toFixed(1)} s of CPU during this run (${((100 * m.otherCpu) / (cpus().length * m.wallSeconds)).toFixed(0)}% of the two cores): its numbers are likely low.`,
    );
  if (!verification.ok) log(`  VERIFICATION FAILED: ${verification.problems.join('; ')}`);
  log(
    `  ${m.wallSeconds.toFixed(2)} s, ${(m.objects / m.wallSeconds).toFixed(1)} objects/s, ${(m.bytes / 1e6 / m.wallSeconds).toFixed(1)} MB/s, CPU ${m.cpuSeconds.toFixed(2)} s, RSS ${(m.peakRssKb / 1024).toFixed(0)} MiB, ${requests.total} requests, verified ${verification.ok}`,
  );
  return m;
}

async function peer(
  ctx: Context,
  command: { command: string; args: string[]; env: NodeJS.ProcessEnv },
): Promise<Outcome> {
  const r = await timed(command.command, command.args, { env: command.env, tmpDir: ctx.tmpDir });
  return {
    wallSeconds: r.wallSeconds,
    cpuSeconds: r.userSeconds + r.sysSeconds,
    peakRssKb: r.peakRssKb,
    ok: r.code === 0,
    error:
      r.code === 0 ? undefined : `exit code ${r.code}: ${r.tail.trim().split('\n').slice(-3).join(' / ')}`,
  };
}

/** The raw floor: `pinned` makes Lifeboat's calls (versions listed, copies by version id as of `at`). */
function floor(ctx: Context, source: string, target: string, pinned: boolean, at?: string): Promise<Outcome> {
  return peer(ctx, {
    command: process.execPath,
    args: [
      join(__dirname, 'floor.js'),
      '--src',
      source,
      '--dst',
      target,
      '--concurrency',
      String(ctx.concurrency),
      ...(pinned ? ['--versions'] : []),
      ...(at ? ['--at', at] : []),
    ],
    env: { ...process.env, AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true' },
  });
}

/** What a Lifeboat job must have applied: copies, keys whose delete markers it removed, deletions. */
interface ExpectedApplied {
  copy: number;
  removeMarkers?: number;
  delete?: number;
}

let jobNumber = 0;

/** A Lifeboat job on the running worker: its CPU, peak RSS, plan-implied requests and history. */
async function lifeboat(
  ctx: Context,
  worker: LifeboatWorker,
  type: 'bulkCopy' | 'pointInTimeRestore',
  input: Record<string, unknown>,
  expected: ExpectedApplied,
): Promise<Outcome & { startedAt: number; finishedAt: number }> {
  const pid = worker.pid;
  const cpu0 = processCpuSeconds(pid);
  const threads0 = threadCpuSeconds(pid);
  resetPeakRss(pid);
  let sampled = rssKb(pid);
  const sampler = setInterval(() => (sampled = Math.max(sampled, rssKb(pid))), 100);
  const target = input.target as { bucket: string } | undefined;
  const inPlace = !target;
  // In place the job's bucket is its source; the number keeps repeated runs (--repeat) apart.
  const workflowId = `bench/${ctx.runId}/${type}/${(target ?? (input.source as { bucket: string })).bucket}/${++jobNumber}`;
  const startedAt = Date.now();
  let job;
  try {
    job = await runJob(ctx.client, worker.taskQueue, type, workflowId, {
      ...input,
      concurrency: ctx.concurrency,
    });
  } catch (err) {
    clearInterval(sampler);
    return {
      wallSeconds: (Date.now() - startedAt) / 1000,
      cpuSeconds: processCpuSeconds(pid) - cpu0,
      peakRssKb: Math.max(sampled, peakRssKb(pid)),
      ok: false,
      error: `${(err as Error).message}: ${String((err as { cause?: Error }).cause?.message ?? '')}`,
      startedAt,
      finishedAt: Date.now(),
    };
  }
  const finishedAt = Date.now();
  clearInterval(sampler);
  const cpuSeconds = processCpuSeconds(pid) - cpu0;
  const peak = Math.max(sampled, peakRssKb(pid));
  const threads1 = threadCpuSeconds(pid);
  const byThread = [...threads1.entries()]
    .map(([name, s]) => [name, s - (threads0.get(name) ?? 0)] as const)
    .filter(([, s]) => s >= 0.05)
    .sort((a, b) => b[1] - a[1])
    .map(([name, s]) => `${name} ${s.toFixed(2)} s`)
    .join(', ');
  const r = job.result;
  const events = await historyEvents(ctx.client, workflowId, job.firstRunId);
  // Two bucket checks; per page one ListObjectVersions (more when a key's versions span pages), one
  // listing of the target's range (not in place) and one undo manifest; one copy per object; the
  // final report. In place: one DeleteObject per key whose delete marker is removed (one marker each
  // here) or that gets a delete marker, and an undo manifest for every page (the changed keys are
  // spread over all of them). Not counted: the key count beside the restore (one listing per 1,000
  // versions), for its progress ETA.
  const pagesWithWork = inPlace ? r.pages : Math.min(r.pages, Math.ceil(r.applied.copy / 1000));
  const planned =
    2 +
    r.pages +
    (!inPlace && r.planned.keys > 0 ? r.pages : 0) +
    pagesWithWork +
    r.applied.copy +
    (inPlace ? r.applied.removeMarkers + r.applied.delete : 0) +
    1;
  const ok =
    r.failedCount === 0 &&
    r.applied.copy === expected.copy &&
    r.applied.removeMarkers === (expected.removeMarkers ?? 0) &&
    r.applied.delete === (expected.delete ?? 0);
  return {
    wallSeconds: job.wallSeconds,
    cpuSeconds,
    peakRssKb: peak,
    ok,
    error: ok
      ? undefined
      : `applied ${r.applied.copy} copies of ${expected.copy}, ${r.applied.removeMarkers} marker removals of ${expected.removeMarkers ?? 0}, ${r.applied.delete} deletions of ${expected.delete ?? 0}, ${r.failedCount} failed: ${JSON.stringify(r.failed.slice(0, 3))}`,
    plannedRequests: planned,
    historyEvents: events,
    notes: [
      `${r.pages} pages, ${r.runs} run(s), RTO ${r.rtoSeconds.toFixed(1)} s as the workflow recorded it${inPlace ? `; plan: ${r.planned.copy} copies, ${r.planned.removeMarkers} keys undeleted by removing their delete markers, ${r.planned.delete} delete markers added, ${r.planned.unchanged} keys left alone` : ''}; worker CPU by thread: ${byThread}.`,
    ],
    startedAt,
    finishedAt,
  };
}

interface ToolRun {
  id: ToolId;
  tool: string;
  run: (target: string) => Promise<Outcome>;
}

type MeasureBase = Omit<Parameters<typeof measure>[1], 'tool' | 'run'>;

/**
 * Each selected tool `repeat` times, in rounds (every tool once per round, so that a slow spell of the
 * machine hits them all, forward and backward in turn); each tool's row is its median run,
 * with the wall times of all runs.
 */
async function rounds(
  ctx: Context,
  base: MeasureBase,
  repeat: number,
  runs: ToolRun[],
): Promise<Measurement[]> {
  const selected = runs.filter((r) => ctx.tools.has(r.id));
  const byTool = new Map<string, Measurement[]>();
  for (let round = 1; round <= repeat; round++) {
    if (repeat > 1) log(`${base.scenario}: round ${round} of ${repeat}`);
    // The store slows as a run goes on (a tool's place in the order moved its time by up to 30%): the
    // order goes forward in odd rounds and backward in even ones, so that any two rounds give every
    // tool the same mean place, and is rotated by half every other pair of rounds.
    const shift = Math.floor((round - 1) / 2) * Math.ceil(selected.length / 2);
    const rotated = selected.map((_, i) => selected[(i + shift) % selected.length]);
    const order = round % 2 === 0 ? rotated.reverse() : rotated;
    for (const r of order) {
      const m = await measure(ctx, { ...base, tool: r.tool, run: r.run });
      byTool.set(r.tool, [...(byTool.get(r.tool) ?? []), m]);
      ctx.done.push(m);
    }
  }
  return selected.map((r) => combineRuns(byTool.get(r.tool)!));
}

function combineRuns(runs: Measurement[]): Measurement {
  if (runs.length === 1) return runs[0];
  const byWall = [...runs].sort((a, b) => a.wallSeconds - b.wallSeconds);
  const failed = runs.find((m) => !m.ok);
  const shown = failed ?? byWall[Math.floor((byWall.length - 1) / 2)];
  return {
    ...shown,
    ok: runs.every((m) => m.ok),
    wallRuns: runs.map((m) => m.wallSeconds),
    peakRssKb: Math.max(...runs.map((m) => m.peakRssKb)),
  };
}

async function smallAndPitr(
  ctx: Context,
  opts: ReturnType<typeof parseOptions>,
  meta: ReportMeta,
): Promise<Measurement[]> {
  const out: Measurement[] = [];
  const n = opts.small;
  const source = `${ctx.runId}-small-src`;
  await createBucket(ctx.s3, source, true);
  ctx.created.add(source);
  const keys = Array.from({ length: n }, (_, i) => smallKey(i));
  log(`preparing ${n} objects of 4 KiB in ${source}`);
  await putAll(ctx.s3, source, keys, (k) => smallBody(ctx.runId, k, 1), 32);
  const expected = new Map<string, Expected>(
    keys.map((k) => [k, { size: SMALL_BYTES, etag: md5(smallBody(ctx.runId, k, 1)) }]),
  );
  const verify = (target: string, sample: string[]) =>
    verifyTarget(ctx.s3, target, expected, sample, (k) => [{ bytes: smallBody(ctx.runId, k, 1) }]);
  const sample = sampleOf(keys, 100);
  const bytes = n * SMALL_BYTES;
  const c = ctx.concurrency;

  if (opts.only.has('small')) {
    const base = {
      scenario: 'small' as const,
      source,
      objects: n,
      bytes,
      verify: (d: string) => verify(d, sample),
    };
    const copy = (target: string) => ({
      source: { region: 'primary', bucket: source },
      target: { region: 'primary', bucket: target },
    });
    const measured = await rounds(ctx, base, opts.repeat, [
      {
        id: 'lifeboat',
        tool: LIFEBOAT,
        run: (d) => lifeboat(ctx, ctx.worker, 'bulkCopy', copy(d), { copy: n }),
      },
      { id: 'floor', tool: FLOOR, run: (d) => floor(ctx, source, d, true) },
      { id: 'floor', tool: FLOOR_PLAIN, run: (d) => floor(ctx, source, d, false) },
      {
        id: 's5cmd',
        tool: 's5cmd',
        run: (d) => peer(ctx, s5cmdCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
      },
      {
        id: 'rclone',
        tool: 'rclone',
        run: (d) => peer(ctx, rcloneCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
      },
      {
        id: 'aws',
        tool: 'aws s3 cp',
        run: (d) => peer(ctx, awsCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
      },
    ]);
    out.push(...measured);
    const lb = measured.find((m) => m.tool === LIFEBOAT);
    if (lb && meta.memoryFlat) meta.memoryFlat = { ...meta.memoryFlat, smallJobKb: lb.peakRssKb, objects: n };
    await maybeProfile(ctx, opts, meta, out, source, n);
  }

  if (opts.only.has('pitr')) {
    // T falls on a whole second, more than a second after the last write and before the first change.
    await sleep(1100);
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000);
    await sleep(at.getTime() - Date.now() + 1100);
    const overwritten = keys.filter((_, i) => i % 4 === 1);
    const deleted = keys.filter((_, i) => i % 4 === 3);
    log(
      `changing the source after T=${at.toISOString()}: ${overwritten.length} overwritten, ${deleted.length} deleted`,
    );
    await putAll(ctx.s3, source, overwritten, (k) => smallBody(ctx.runId, k, 2), 32);
    await deleteAll(ctx.s3, source, deleted, 32);
    const iso = at.toISOString();
    const pitrSample = [...sampleOf(overwritten, 50), ...sampleOf(deleted, 50), ...sampleOf(keys, 20)];
    const base = {
      scenario: 'pitr' as const,
      source,
      objects: n,
      bytes,
      verify: (d: string) => verify(d, pitrSample),
    };
    const restore = (target: string) => ({
      source: { region: 'primary', bucket: source },
      at: iso,
      target: { region: 'primary', bucket: target },
    });
    const rcloneAt = iso.replace('.000Z', 'Z');
    out.push(
      ...(await rounds(ctx, base, opts.repeat, [
        {
          id: 'lifeboat',
          tool: LIFEBOAT,
          run: (d) => lifeboat(ctx, ctx.worker, 'pointInTimeRestore', restore(d), { copy: n }),
        },
        { id: 'floor', tool: FLOOR, run: (d) => floor(ctx, source, d, true, iso) },
        {
          id: 's3-pit-restore',
          tool: 's3-pit-restore',
          run: (d) => peer(ctx, s3PitRestore(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c, iso)),
        },
        {
          id: 'rclone',
          tool: 'rclone --s3-version-at',
          run: (d) => peer(ctx, rcloneCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c, rcloneAt)),
        },
      ])),
    );
  }
  await deleteBucket(ctx.s3, source);
  ctx.created.delete(source);
  return out;
}

/**
 * pitr-inplace: a bad deploy overwrote 10% and deleted 2% of the keys after T; each tool restores the
 * bucket itself to T. A restore changes its bucket, so every tool gets a bucket of its own, built the
 * same way (same keys, bytes and changed keys; its own T), and the check compares the bucket with T.
 */
async function pitrInPlace(
  ctx: Context,
  opts: ReturnType<typeof parseOptions>,
  meta: ReportMeta,
): Promise<Measurement[]> {
  const n = opts.small;
  const keys = Array.from({ length: n }, (_, i) => smallKey(i));
  const overwritten = keys.filter((_, i) => inPlaceChange(i) === 'overwrite');
  const deleted = keys.filter((_, i) => inPlaceChange(i) === 'delete');
  meta.inPlace = { keys: n, overwritten: overwritten.length, deleted: deleted.length };
  const changed = new Set([...overwritten, ...deleted]);
  // Every changed key and 100 of the others are read back.
  const sample = [
    ...overwritten,
    ...deleted,
    ...sampleOf(
      keys.filter((k) => !changed.has(k)),
      100,
    ),
  ];
  const body = (k: string) => smallBody(ctx.runId, k, 1);
  const expected = new Map<string, Expected>(keys.map((k) => [k, { size: SMALL_BYTES, etag: md5(body(k)) }]));
  const history = new Map<string, { at: string; before: VersionListed[] }>();
  const deletedSet = new Set(deleted);

  const prepare = async (bucket: string) => {
    await putAll(ctx.s3, bucket, keys, body, 32);
    // T falls on a whole second, more than a second after the last write and before the first change.
    await sleep(1100);
    const at = new Date(Math.ceil(Date.now() / 1000) * 1000);
    await sleep(at.getTime() - Date.now() + 1100);
    await putAll(ctx.s3, bucket, overwritten, (k) => smallBody(ctx.runId, k, 2), 32);
    await deleteAll(ctx.s3, bucket, deleted, 32);
    const before = await listVersions(ctx.s3, bucket);
    history.set(bucket, { at: at.toISOString(), before });
    log(
      `  T=${at.toISOString()}; after T ${overwritten.length} overwritten, ${deleted.length} deleted; ${before.length} versions and markers`,
    );
  };
  const at = (bucket: string) => history.get(bucket)!.at;
  const base = {
    scenario: 'pitr-inplace' as const,
    objects: n,
    bytes: n * SMALL_BYTES,
    versioned: true,
    freeData: true,
    prepare,
    verify: (bucket: string) =>
      verifyInPlace(
        ctx.s3,
        bucket,
        expected,
        sample,
        (k) => [{ bytes: body(k) }],
        history.get(bucket)!.before,
        deletedSet,
      ),
  };
  // rclone is not run: with --s3-version-at its remote is read-only, so it cannot restore in place.
  return rounds(ctx, base, opts.repeat, [
    {
      id: 'lifeboat',
      tool: LIFEBOAT,
      run: (b) =>
        lifeboat(
          ctx,
          ctx.worker,
          'pointInTimeRestore',
          { source: { region: 'primary', bucket: b }, at: at(b) },
          { copy: overwritten.length, removeMarkers: deleted.length, delete: 0 },
        ),
    },
    {
      id: 's3-pit-restore',
      tool: 's3-pit-restore',
      run: (b) => peer(ctx, s3PitRestore(ctx.peers, ctx.endpoint, ctx.tmpDir, b, b, ctx.concurrency, at(b))),
    },
    { id: 'floor', tool: FLOOR_NAIVE_IN_PLACE, run: (b) => floor(ctx, b, b, true, at(b)) },
  ]);
}

/** With Lifeboat more than 10% below the floor (or --profile always): a profiled run and its hot spots. */
async function maybeProfile(
  ctx: Context,
  opts: ReturnType<typeof parseOptions>,
  meta: ReportMeta,
  small: Measurement[],
  source: string,
  n: number,
): Promise<void> {
  const lb = small.find((m) => m.tool === LIFEBOAT);
  const fl = small.find((m) => m.tool === FLOOR);
  const ratio = lb && fl ? fl.wallSeconds / lb.wallSeconds : NaN;
  const wanted = opts.profile === 'always' || (opts.profile === 'auto' && ratio < 0.9);
  if (!wanted || !lb) return;
  const reason =
    ratio < 0.9
      ? `Lifeboat reached ${(ratio * 100).toFixed(0)}% of the raw floor's objects/s on small objects (target: 90%), so the benchmark profiled it.`
      : 'Profiled on request (--profile always).';
  log(`profiling the worker: ${reason}`);
  // Kept after the run, for a look with Chrome DevTools or speedscope.
  const profDir = join(ctx.root, 'dist', 'bench', 'cpu-profile');
  rmSync(profDir, { recursive: true, force: true });
  mkdirSync(profDir, { recursive: true });
  const taskQueue = `${ctx.runId}-profiled`;
  const worker = await startWorker(
    ctx.root,
    writeWorkerConfig(ctx.tmpDir, taskQueue, ctx.reportsBucket),
    taskQueue,
    ['--cpu-prof', `--cpu-prof-dir=${profDir}`],
  );
  const target = `${ctx.runId}-small-profiled`;
  await createBucket(ctx.s3, target);
  ctx.created.add(target);
  try {
    await waitQuiet(ctx.ceph, ctx.pids);
    const o = await lifeboat(
      ctx,
      worker,
      'bulkCopy',
      { source: { region: 'primary', bucket: source }, target: { region: 'primary', bucket: target } },
      { copy: n },
    );
    const exitedAt = await stopWorker(worker);
    const windowUs: [number, number] = [(exitedAt - o.startedAt) * 1000, (exitedAt - o.finishedAt) * 1000];
    const summaries = summariseProfiles(profDir, windowUs);
    meta.profile = { summaries, wallSeconds: o.wallSeconds, cpuSeconds: o.cpuSeconds, objects: n, reason };
    const main = summaries[0];
    if (main) {
      log('hot spots (self time, main thread):');
      for (const h of main.top.slice(0, 10))
        log(`  ${h.ms.toFixed(0).padStart(6)} ms ${(h.share * 100).toFixed(1).padStart(5)}%  ${h.name}`);
    }
  } finally {
    await stopWorker(worker);
    await deleteBucket(ctx.s3, target);
    ctx.created.delete(target);
  }
}

async function largeObjects(
  ctx: Context,
  opts: ReturnType<typeof parseOptions>,
  meta: ReportMeta,
): Promise<Measurement[]> {
  let m = opts.large;
  if (2 * m * LARGE_BYTES > DATA_LIMIT_BYTES) {
    const reduced = Math.min(FALLBACK_LARGE, Math.floor(DATA_LIMIT_BYTES / (2 * LARGE_BYTES)));
    meta.largeNote = `${m} asked for; ${reduced} used, because a source of ${m} × 64 MiB and one copy of it (${((2 * m * LARGE_BYTES) / GiB).toFixed(1)} GiB, stored again by the secondary zone) exceed the ${DATA_LIMIT_BYTES / GiB} GiB this benchmark may keep on the 8 GiB in-memory store`;
    m = reduced;
  }
  meta.large = m;
  const need = 2 * 2 * m * LARGE_BYTES; // source and one target, each in both zones
  const usage = await ctx.ceph.usage();
  if (usage && usage.used + need + 0.5 * GiB > usage.total) {
    ctx.warnings.push(
      `large objects skipped: the object store has ${((usage.total - usage.used) / GiB).toFixed(1)} GiB free, ${(need / GiB + 0.5).toFixed(1)} GiB needed`,
    );
    return [];
  }
  const source = `${ctx.runId}-large-src`;
  await createBucket(ctx.s3, source);
  ctx.created.add(source);
  const keys = Array.from({ length: m }, (_, i) => largeKey(i));
  const bodies = new LargeBodies();
  log(`preparing ${m} objects of 64 MiB in ${source}`);
  await putAll(ctx.s3, source, keys, (k) => bodies.body(k), 4);
  const expected = new Map<string, Expected>(keys.map((k) => [k, { size: LARGE_BYTES }]));
  const ranges = (k: string) => {
    const mid = (Number(k.replace(/\D/g, '')) * 7_919_731) % (LARGE_BYTES - 65_536);
    return [
      [0, 65_535],
      [mid, mid + 65_535],
      [LARGE_BYTES - 65_536, LARGE_BYTES - 1],
    ].map(([a, b]) => ({ range: `bytes=${a}-${b}`, bytes: bodies.range(k, a, b) }));
  };
  const base = {
    scenario: 'large' as const,
    source,
    objects: m,
    bytes: m * LARGE_BYTES,
    freeData: true,
    verify: (d: string) => verifyTarget(ctx.s3, d, expected, keys, ranges),
  };
  const out: Measurement[] = [];
  const c = ctx.concurrency;
  try {
    const copy = (target: string) => ({
      source: { region: 'primary', bucket: source },
      target: { region: 'primary', bucket: target },
    });
    out.push(
      ...(await rounds(ctx, base, opts.repeat, [
        {
          id: 'lifeboat',
          tool: LIFEBOAT,
          run: (d) => lifeboat(ctx, ctx.worker, 'bulkCopy', copy(d), { copy: m }),
        },
        { id: 'floor', tool: FLOOR, run: (d) => floor(ctx, source, d, true) },
        { id: 'floor', tool: FLOOR_PLAIN, run: (d) => floor(ctx, source, d, false) },
        {
          id: 's5cmd',
          tool: 's5cmd',
          run: (d) => peer(ctx, s5cmdCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
        },
        {
          id: 'rclone',
          tool: 'rclone',
          run: (d) => peer(ctx, rcloneCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
        },
        {
          id: 'aws',
          tool: 'aws s3 cp',
          run: (d) => peer(ctx, awsCopy(ctx.peers, ctx.endpoint, ctx.tmpDir, source, d, c)),
        },
      ])),
    );
  } finally {
    await deleteBucket(ctx.s3, source);
    ctx.created.delete(source);
    await waitQuiet(ctx.ceph, ctx.pids, 120);
    await ctx.ceph.collectGarbage();
  }
  return out;
}

/** One job before the measurements: the worker's first workflow and S3 connections are not timed. */
async function warmUp(ctx: Context, objects: number): Promise<number> {
  const source = `${ctx.runId}-warm-src`;
  const target = `${ctx.runId}-warm-dst`;
  await createBucket(ctx.s3, source);
  ctx.created.add(source);
  await createBucket(ctx.s3, target);
  ctx.created.add(target);
  const keys = Array.from({ length: objects }, (_, i) => smallKey(i));
  await putAll(ctx.s3, source, keys, (k) => smallBody(ctx.runId, k, 0), 32);
  await waitQuiet(ctx.ceph, ctx.pids, 60);
  const o = await lifeboat(
    ctx,
    ctx.worker,
    'bulkCopy',
    { source: { region: 'primary', bucket: source }, target: { region: 'primary', bucket: target } },
    { copy: objects },
  );
  if (!o.ok) throw new Error(`the warm-up job failed: ${o.error}`);
  log(
    `warm-up job: ${objects} objects in ${o.wallSeconds.toFixed(2)} s, worker peak RSS ${(o.peakRssKb / 1024).toFixed(0)} MiB`,
  );
  for (const b of [source, target]) {
    await deleteBucket(ctx.s3, b);
    ctx.created.delete(b);
  }
  return o.peakRssKb;
}

/**
 * The measurements of the last run, kept so that the pages can be rendered again (--render FILE); a run
 * of pitr-inplace alone has a file of its own, so that it does not replace a full run's.
 */
function saveRun(root: string, all: Measurement[], meta: ReportMeta): string {
  const alone = !MAIN_SCENARIOS.some((s) => ranScenario(all, meta, s));
  const file = join(root, 'dist', 'bench', alone ? 'last-run-pitr-inplace.json' : 'last-run.json');
  mkdirSync(join(root, 'dist', 'bench'), { recursive: true });
  writeFileSync(file, JSON.stringify({ all, meta }, null, 2));
  return file;
}

/**
 * Writes the pages of the scenarios the run was asked for: docs/benchmarks.md for small, pitr and large
 * (or a run saved before pitr-inplace existed), docs/benchmarks-pitr-inplace.md for pitr-inplace.
 */
async function publish(root: string, out: string | undefined, all: Measurement[], meta: ReportMeta) {
  const file = out ?? join(root, 'docs', 'benchmarks.md');
  const inPlaceFile = file.replace(/\.md$/, '') + '-pitr-inplace.md';
  const pages: Pages = { main: basename(file), inPlace: basename(inPlaceFile) };
  const write = async (path: string, text: string) => {
    // Formatted as `npm run lint` expects (prettier pads table columns).
    const markdown = await format(text, {
      ...(await resolveConfig(join(root, 'docs', 'benchmarks.md'))),
      parser: 'markdown',
    });
    console.log(markdown);
    writeFileSync(path, markdown);
    log(`written to ${path}`);
  };
  const inPlace = ranScenario(all, meta, 'pitr-inplace');
  if (MAIN_SCENARIOS.some((s) => ranScenario(all, meta, s)) || !inPlace)
    await write(file, renderReport(all, meta, pages));
  if (inPlace) await write(inPlaceFile, renderInPlaceReport(all, meta, pages));
  for (const t of targets(all, meta))
    log(`target: ${t.text}: ${Number.isNaN(t.value) ? 'not measured' : `${t.value.toFixed(2)}×`}`);
}

async function main() {
  const opts = parseOptions();
  const root = projectRoot();
  if (opts.render) {
    const saved = JSON.parse(readFileSync(opts.render, 'utf8')) as { all: Measurement[]; meta: ReportMeta };
    await publish(root, opts.out, saved.all, saved.meta);
    return;
  }
  const profile = readStackProfile();
  const primary = profile.regions.primary;
  const cache = process.env.LIFEBOAT_CACHE ?? join(process.env.HOME ?? tmpdir(), '.cache', 'lifeboat');
  const peers = findPeers(cache);
  const runId = `lbb-${Date.now().toString(36)}`;
  const tmpDir = mkdtempSync(join(tmpdir(), 'lifeboat-bench-'));
  const reportsBucket = `${runId}-reports`;
  const taskQueue = `${runId}-worker`;
  const config = localStackConfig(profile);
  const s3 = createS3Client('primary', config.regions.primary);
  const stack = stackDir();
  const ctx: Context = {
    root,
    runId,
    tmpDir,
    s3,
    endpoint: {
      endpoint: primary.endpoint,
      region: primary.region,
      accessKeyId: primary.accessKeyId,
      secretAccessKey: primary.secretAccessKey,
    },
    peers,
    pids: serverPids(stack),
    ceph: new Ceph(stack),
    rgwLog: join(stack, 'logs', 'rgw-primary.log'),
    client: await connect(),
    worker: undefined as unknown as LifeboatWorker,
    reportsBucket,
    concurrency: opts.concurrency,
    quietWait: opts.quietWait,
    created: new Set(),
    done: [],
    warnings: [],
    tools: opts.tools,
  };
  const meta: ReportMeta = {
    date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC',
    machine: `${cpus().length} cores (${cpus()[0]?.model.trim() ?? 'unknown CPU'}), ${(totalmem() / GiB).toFixed(0)} GiB of memory, Node ${process.version}`,
    concurrency: opts.concurrency,
    repeat: opts.repeat,
    small: opts.small,
    large: opts.large,
    versions: { ...toolVersions(peers), 'Ceph RGW': cephVersion(), Lifeboat: lifeboatVersion(root) },
    command:
      `npm run bench --${process.argv.slice(2).length ? ` ${process.argv.slice(2).join(' ')}` : ''}`.replace(
        / --$/,
        '',
      ),
    warnings: ctx.warnings,
    scenarios: [...opts.only],
  };
  if (!ctx.ceph.available)
    ctx.warnings.push('no Ceph configuration found: could not wait for replication nor free deleted data');
  if (logOffset(ctx.rgwLog) < 0) ctx.warnings.push(`no RGW log at ${ctx.rgwLog}: S3 requests not counted`);

  let cleaned = false;
  const cleanup = async () => {
    if (cleaned) return;
    cleaned = true;
    for (const child of runningWorkers()) child.kill('SIGTERM');
    await terminateUnfinished(ctx.client);
    // Every bucket of this run, also one whose creation or filling was cut short (a retry catches
    // objects still arriving from requests in flight).
    for (let attempt = 1; attempt <= 3; attempt++) {
      const left = await bucketsStartingWith(s3, `${runId}-`).catch(() => [...ctx.created, reportsBucket]);
      if (left.length === 0) break;
      for (const b of left)
        await deleteBucket(s3, b).catch((err: Error) => {
          if (attempt === 3) log(`could not delete ${b}: ${err.message}`);
        });
      await sleep(2000);
    }
    await ctx.ceph.collectGarbage();
    rmSync(tmpDir, { recursive: true, force: true });
    await ctx.client.connection.close().catch(() => undefined);
  };
  process.once('SIGINT', () => {
    interrupted = true;
    log('interrupted: deleting what the benchmark created');
    void cleanup().finally(() => process.exit(130));
  });

  const all: Measurement[] = [];
  let failure: Error | undefined;
  try {
    log(`run ${runId}: ${opts.small} small, ${opts.large} large objects, concurrency ${opts.concurrency}`);
    if (opts.tools.has('lifeboat')) {
      ctx.worker = await startWorker(root, writeWorkerConfig(tmpDir, taskQueue, reportsBucket), taskQueue);
      const warmupObjects = Math.min(1000, opts.small);
      const warmupKb = await warmUp(ctx, warmupObjects);
      meta.memoryFlat = { warmupKb, warmupObjects, smallJobKb: 0, objects: 0 };
    }
    if (opts.only.has('small') || opts.only.has('pitr')) all.push(...(await smallAndPitr(ctx, opts, meta)));
    if (opts.only.has('pitr-inplace')) all.push(...(await pitrInPlace(ctx, opts, meta)));
    if (opts.only.has('large')) all.push(...(await largeObjects(ctx, opts, meta)));
  } catch (err) {
    // Keep what was measured: the page says where the run stopped.
    failure = err as Error;
    ctx.warnings.push(`the run stopped early: ${failure.message}`);
    const groups = new Map<string, Measurement[]>();
    for (const m of ctx.done)
      groups.set(`${m.scenario}/${m.tool}`, [...(groups.get(`${m.scenario}/${m.tool}`) ?? []), m]);
    all.splice(0, all.length, ...[...groups.values()].map(combineRuns));
  } finally {
    await cleanup();
  }
  if (meta.memoryFlat && meta.memoryFlat.smallJobKb === 0) delete meta.memoryFlat;

  log(`measurements saved in ${saveRun(root, all, meta)}`);
  await publish(root, opts.out, all, meta);
  if (failure) throw failure;
  if (all.some((m) => !m.ok)) process.exitCode = 1;
}

function lifeboatVersion(root: string): string {
  try {
    const git = (...args: string[]) =>
      execFileSync('git', ['-C', root, ...args], { encoding: 'utf8' }).trim();
    const dirty =
      git(
        'status',
        '--porcelain',
        '--',
        '.',
        ':!bench',
        ':!docs/benchmarks.md',
        ':!docs/benchmarks-pitr-inplace.md',
        ':!package.json',
      ) !== '';
    return `commit ${git('rev-parse', '--short', 'HEAD')}${dirty ? ' with uncommitted changes' : ''}`;
  } catch {
    return 'this checkout';
  }
}

function cephVersion(): string {
  try {
    return execFileSync('radosgw', ['--version'], { encoding: 'utf8' }).split(' ')[2] ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

main().catch((err: Error) => {
  console.error(`bench: ${err.stack ?? err.message}`);
  process.exit(1);
});
