// The processes behind the Ceph provider: radosgw-admin and restart commands run with a timeout (errors
// classed as retryable or not), and the zones' gateways probed, waited for and restarted.
import { execFile } from 'node:child_process';
import { ApplicationFailure } from '@temporalio/common';
import type { ZonegroupInfo } from '../../core/ceph-sync';
import type { CephZoneDeps } from './ceph';

export const CephErrorType = {
  CommandFailed: 'CephCommandFailed',
  NotConfigured: 'CephNotConfigured',
} as const;

const redact = (argv: string[]) => argv.map((a) => a.replace(/^(--secret=|--access-key=).+$/, '$1***'));

const sleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((resolve, reject) => {
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(t);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });

// Exit statuses and messages of a cluster or gateway that is busy or briefly away: worth a retry.
const TRANSIENT =
  /Input\/output error|Connection refused|timed out|\(110\)|\(111\)|\(2202\)|\(16\) Device or resource busy/;

export function cephProcesses(opts: { restartTimeoutMs: number; gatewayReadyTimeoutMs: number }) {
  const { restartTimeoutMs, gatewayReadyTimeoutMs } = opts;

  function run(argv: string[], env: NodeJS.ProcessEnv, timeout: number, signal?: AbortSignal) {
    return new Promise<{ stdout: string; stderr: string }>((resolve, reject) => {
      execFile(
        argv[0],
        argv.slice(1),
        { env, timeout, signal, maxBuffer: 64 * 1024 * 1024, encoding: 'utf8' },
        (err, stdout, stderr) => {
          if (!err) return resolve({ stdout, stderr });
          if (signal?.aborted) {
            return reject(signal.reason instanceof Error ? signal.reason : new Error('aborted'));
          }
          const shown = redact(argv).join(' ');
          const e = err as NodeJS.ErrnoException & { killed?: boolean; code?: string | number };
          const tail = stderr.trim().split('\n').slice(-5).join(' | ');
          if (e.code === 'ENOENT') {
            return reject(
              ApplicationFailure.nonRetryable(
                `cannot run "${argv[0]}": not found on the worker's PATH (set regions.<r>.ceph.adminCommand / restartCommand)`,
                CephErrorType.NotConfigured,
              ),
            );
          }
          if (e.killed) {
            return reject(
              ApplicationFailure.retryable(
                `"${shown}" did not finish within ${timeout / 1000}s (cluster unreachable?); stderr: ${tail}`,
                CephErrorType.CommandFailed,
              ),
            );
          }
          const message = `"${shown}" failed (exit ${String(e.code)}): ${tail || 'no output on stderr'}`;
          reject(
            TRANSIENT.test(stderr)
              ? ApplicationFailure.retryable(message, CephErrorType.CommandFailed)
              : ApplicationFailure.nonRetryable(message, CephErrorType.CommandFailed),
          );
        },
      );
    });
  }

  /**
   * 'up' answers; 'down' refuses the connection (no process); 'hung' accepts it and does not answer.
   * Seen on 16.2.15 after a period commit: a gateway logs "rgw realm reloader: Frontends paused" and
   * never resumes, so it must be restarted like a live one, not skipped as down.
   */
  async function gatewayState(url: string | undefined): Promise<'up' | 'hung' | 'down'> {
    if (!url) return 'down';
    try {
      await fetch(url, { signal: AbortSignal.timeout(3000) });
      return 'up';
    } catch (err) {
      return (err as Error).name === 'TimeoutError' ? 'hung' : 'down';
    }
  }

  const gatewayUp = async (url: string | undefined) => (await gatewayState(url)) === 'up';

  const endpointOf = (z: CephZoneDeps, zg: ZonegroupInfo) =>
    z.endpoint ?? zg.zones.find((x) => x.name === z.zone)?.endpoints[0];

  async function waitGateway(z: CephZoneDeps, zg: ZonegroupInfo, signal?: AbortSignal): Promise<void> {
    const url = endpointOf(z, zg);
    const deadline = Date.now() + gatewayReadyTimeoutMs;
    while (!(await gatewayUp(url))) {
      if (Date.now() > deadline) {
        throw ApplicationFailure.retryable(
          `the gateway of zone ${z.zone} (${url}) did not answer within ${gatewayReadyTimeoutMs / 1000}s after its restart`,
          CephErrorType.CommandFailed,
        );
      }
      await sleep(500, signal);
    }
  }

  /** Restarts a zone's gateway (then waits until it answers); says what it did or why it did not. */
  async function restartGateway(z: CephZoneDeps, zg: ZonegroupInfo, signal?: AbortSignal): Promise<string> {
    if (!z.restartCommand) {
      return `zone ${z.zone}: no restartCommand configured; restart its gateways yourself (the change takes effect after a restart)`;
    }
    const started = Date.now();
    await run(z.restartCommand, process.env, restartTimeoutMs, signal);
    await waitGateway(z, zg, signal);
    return `restarted the gateway of zone ${z.zone} (${((Date.now() - started) / 1000).toFixed(1)} s)`;
  }

  /**
   * Restarts the gateways that run (answering, or hung in a realm reload); a gateway that is down
   * reads the new period when it starts.
   */
  async function restartLiveGateways(zones: CephZoneDeps[], zg: ZonegroupInfo, signal?: AbortSignal) {
    const steps: string[] = [];
    for (const z of zones) {
      const state = await gatewayState(endpointOf(z, zg));
      if (state === 'down') {
        steps.push(
          `zone ${z.zone}: gateway down, not restarted (it loads the current period when it starts)`,
        );
      } else if (state === 'up') {
        steps.push(await restartGateway(z, zg, signal));
      } else {
        // Accepted the connection, no answer: a gateway paused by a realm reload (or a host that drops
        // packets, whose restart will fail: said, not fatal, since it serves nothing either way).
        const why = `zone ${z.zone}: the gateway did not answer within 3 s (paused by a realm reload?)`;
        steps.push(
          await restartGateway(z, zg, signal).then(
            (done) => `${why}: ${done}`,
            (err: Error) => `${why}; its restart failed: ${err.message}`,
          ),
        );
      }
    }
    return steps;
  }

  return { run, gatewayState, gatewayUp, endpointOf, waitGateway, restartGateway, restartLiveGateways };
}
