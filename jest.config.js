// Three projects: unit (pure core, no services) and the service-backed ones, which share one
// global setup that starts the local stack when it is not already up.
const base = { preset: 'ts-jest', testEnvironment: 'node' };
module.exports = {
  globalSetup: '<rootDir>/test/global-setup.ts',
  reporters: ['default', '<rootDir>/test/summary-reporter.js'],
  projects: [
    { ...base, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    {
      ...base,
      displayName: 'integration',
      testMatch: ['<rootDir>/test/{integration,workflow,e2e}/**/*.test.ts'],
      testTimeout: 120000,
    },
  ],
};
