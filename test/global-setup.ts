// Starts the local stack (idempotent) before service-backed tests, and builds the CLI for the e2e tests.
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';

interface GlobalConfig {
  selectProjects?: string[];
}

export default function globalSetup(globalConfig: GlobalConfig): void {
  const root = join(__dirname, '..');
  const selected = globalConfig.selectProjects;
  if (selected && selected.length > 0 && selected.every((p) => p === 'unit')) return;
  if (process.env.LIFEBOAT_SKIP_STACK_UP !== '1') {
    execFileSync('bash', [join(root, 'stack/stack.sh'), 'up'], { stdio: 'inherit' });
  }
  execFileSync('npm', ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
}
