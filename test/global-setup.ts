// Starts the local stack (idempotent) before service-backed tests, and builds the CLI for the e2e tests.
import { execFileSync, spawnSync } from 'node:child_process';
import { join } from 'node:path';

export default function globalSetup(): void {
  const root = join(__dirname, '..');
  // npm run test:unit: pure tests only, no services.
  if (process.env.LIFEBOAT_NO_STACK === '1') return;
  if (process.env.LIFEBOAT_SKIP_STACK_UP !== '1') {
    const stack = join(root, 'stack/stack.sh');
    // Tests leave their buckets behind; the in-memory Ceph store fills after many runs, and a full
    // store makes writes hang. Start from an empty one when it is past 70%.
    const status = spawnSync('bash', [stack, 'status'], { encoding: 'utf8' });
    const used = /(\d+)% of \d+ MiB/.exec(status.stdout ?? '');
    if (used && Number(used[1]) >= 70) {
      process.stderr.write(`[test] the Ceph store is ${used[1]}% full: restarting the stack empty\n`);
      execFileSync('bash', [stack, 'down'], { stdio: 'inherit' });
    }
    execFileSync('bash', [stack, 'up'], { stdio: 'inherit' });
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
