// Starts the local stack (idempotent) before service-backed tests, and builds the CLI for the e2e tests.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

export default function globalSetup(): void {
  const root = join(__dirname, '..');
  // npm run test:unit: pure tests only, no services.
  if (process.env.LIFEBOAT_NO_STACK === '1') return;
  if (process.env.LIFEBOAT_SKIP_STACK_UP !== '1') {
    execFileSync('bash', [join(root, 'stack/stack.sh'), 'up'], { stdio: 'inherit' });
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
