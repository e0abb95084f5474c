// The local stack between measurements: wait until the secondary zone has replicated everything and
// the machine is idle (so no tool pays for the previous one's replication), free deleted data at once
// (RGW keeps deleted tails for 2 hours by default), and read how full the in-memory store is.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cpuDelta, cpuSnapshot, ServerPids } from './proc';

const run = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class Ceph {
  readonly available: boolean;
  private readonly env: NodeJS.ProcessEnv;
  constructor(stackDir: string) {
    const conf = join(stackDir, 'ceph', 'ceph.conf');
    this.available = existsSync(conf);
    this.env = { ...process.env, CEPH_CONF: conf };
  }

  private async cmd(bin: string, args: string[]): Promise<string> {
    const { stdout } = await run(bin, args, { env: this.env, timeout: 60_000, maxBuffer: 16 * 1024 * 1024 });
    return stdout;
  }

  /** The secondary zone has applied every data change of the primary (undefined: cannot tell). */
  async secondaryCaughtUp(): Promise<boolean | undefined> {
    if (!this.available) return undefined;
    try {
      const out = await this.cmd('radosgw-admin', ['sync', 'status', '--rgw-zone=secondary']);
      return /data is caught up with source/.test(out);
    } catch {
      return undefined;
    }
  }

  /** Frees the data of deleted objects now, in both zones, instead of after rgw_gc_obj_min_wait. */
  async collectGarbage(): Promise<void> {
    if (!this.available) return;
    for (const zone of ['primary', 'secondary'])
      await this.cmd('radosgw-admin', ['gc', 'process', '--include-all', `--rgw-zone=${zone}`]).catch(
        () => undefined,
      );
  }

  /** Bytes used and total of the in-memory object store. */
  async usage(): Promise<{ used: number; total: number } | undefined> {
    if (!this.available) return undefined;
    try {
      const stats = (
        JSON.parse(await this.cmd('ceph', ['df', '-f', 'json'])) as {
          stats: { total_bytes: number; total_used_raw_bytes: number };
        }
      ).stats;
      return { used: stats.total_used_raw_bytes, total: stats.total_bytes };
    } catch {
      return undefined;
    }
  }
}

export interface QuietResult {
  waitedSeconds: number;
  /** Set when the machine never became idle: the measurement that follows shares it. */
  warning?: string;
}

/**
 * Waits until replication is caught up and the whole machine uses less than `maxCores` of CPU over
 * two consecutive 2-second windows, for at most `maxSeconds`.
 */
export async function waitQuiet(
  ceph: Ceph,
  pids: ServerPids,
  maxSeconds = 300,
  maxCores = 0.25,
): Promise<QuietResult> {
  const started = Date.now();
  let calm = 0;
  let lastLoad = 0;
  let caughtUp: boolean | undefined;
  while ((Date.now() - started) / 1000 < maxSeconds) {
    caughtUp = await ceph.secondaryCaughtUp();
    const a = cpuSnapshot(pids);
    await sleep(2000);
    const d = cpuDelta(a, cpuSnapshot(pids));
    lastLoad = d.machineBusy / d.seconds;
    calm = caughtUp !== false && lastLoad < maxCores ? calm + 1 : 0;
    if (calm >= 2) return { waitedSeconds: (Date.now() - started) / 1000 };
  }
  return {
    waitedSeconds: (Date.now() - started) / 1000,
    warning: `machine not idle after ${maxSeconds} s (${lastLoad.toFixed(2)} cores busy${caughtUp === false ? ', secondary zone still syncing' : ''})`,
  };
}
