// Prints the plain closing line CI reads, "tests: N passed, N failed", after Jest's own summary
// (both on stderr, so they keep their order), and keeps it in .stack/test-summary.txt for .ci/run.
const { mkdirSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const line = `tests: ${results.numPassedTests} passed, ${results.numFailedTests} failed`;
    process.stderr.write(`\n${line}\n`);
    const dir = process.env.LIFEBOAT_STACK_DIR || join(__dirname, '..', '.stack');
    mkdirSync(dir, { recursive: true });
    writeFileSync(join(dir, 'test-summary.txt'), `${line}\n`);
  }
}
module.exports = SummaryReporter;
