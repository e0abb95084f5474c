// Two projects: unit (pure core, no services) and the service-backed ones (integration, workflow,
// e2e), which share one global setup that starts the local stack when it is not already up.
// The pinned AWS SDK warns about its future Node 22 requirement on every process: not news in tests.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const base = { preset: 'ts-jest', testEnvironment: 'node' };
module.exports = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  // A global option (ignored inside projects): the first workflow on a fresh server takes seconds.
  testTimeout: 120000,
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,workflow,e2e}/**/*.test.ts'],
      setupFilesAfterEnv: ['<rootDir>/test/helpers/teardown.ts'],
    },
  ],
};
