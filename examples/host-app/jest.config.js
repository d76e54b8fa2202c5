// The example's e2e test, run with the project's jest (tools/example-app-test.sh): the application
// and the packed module come from this folder's node_modules; the Gupshup simulator, the real
// PostgreSQL and the waiting helper are the project's test kit.
const { readFileSync } = require('node:fs');
const { join } = require('node:path');

const project = join(__dirname, '..', '..');
const swcConfig = JSON.parse(readFileSync(join(project, '.swcrc'), 'utf8'));

/** @type {import('jest').Config} */
module.exports = {
  rootDir: __dirname,
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.e2e-spec.ts'],
  transform: { '^.+\\.(ts|m?js)$': [require.resolve('@swc/jest', { paths: [project] }), swcConfig] },
  moduleFileExtensions: ['ts', 'js', 'mjs', 'json'],
  // NestJS 12 and two dependencies of @fastify/static ship as ES modules: compiled like the sources.
  transformIgnorePatterns: ['/node_modules/(?!(@nestjs|content-disposition|glob)/)'],
  globalSetup: join(project, 'test/support/global-setup.ts'),
  globalTeardown: join(project, 'test/support/global-teardown.ts'),
  setupFiles: [require.resolve('reflect-metadata', { paths: [__dirname] })],
  testTimeout: 600_000,
};
