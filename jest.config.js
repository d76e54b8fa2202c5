const swcConfig = JSON.parse(require('node:fs').readFileSync(`${__dirname}/.swcrc`, 'utf8'));

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/src', '<rootDir>/test', '<rootDir>/tools'],
  testMatch: ['**/*.spec.ts', '**/*.e2e-spec.ts'],
  transform: { '^.+\\.(ts|m?js)$': ['@swc/jest', swcConfig] },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  // NestJS 12 ships as ES modules, as do two dependencies of @fastify/static (served by /docs);
  // Jest's CommonJS runtime needs them compiled like our sources.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|content-disposition|glob)/)'],
  globalSetup: '<rootDir>/test/support/global-setup.ts',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  setupFiles: ['reflect-metadata'],
  // Only a safety net for a test that hangs: tests wait on conditions (test/support/eventually.ts), never on time.
  testTimeout: 600_000,
  // Each test file gets its own database, so files can run side by side on two cores.
  maxWorkers: 2,
};
