/** Jest runs TypeScript through SWC (no type-check here: `npm test` runs `tsc --noEmit` first). */
module.exports = {
  testEnvironment: 'node',
  roots: ['<rootDir>/test'],
  testMatch: ['**/*.test.ts'],
  transform: {
    '^.+/node_modules/@middy/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
    // Its CommonJS build loads node:async_hooks with a dynamic import(), which jest's VM refuses.
    '^.+/node_modules/@aws/lambda-invoke-store/.+\\.js$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'ecmascript' } }, module: { type: 'commonjs' } }],
    '^.+\\.ts$': ['@swc/jest', { jsc: { target: 'es2022', parser: { syntax: 'typescript' } }, module: { type: 'commonjs' } }],
  },
  // @middy/core is ESM only (its "require" export is ESM too): SWC turns it into CommonJS for jest.
  // esbuild bundles it for Lambda and tsx loads it in local mode, so only jest needs this.
  transformIgnorePatterns: ['/node_modules/(?!@middy/|@aws/lambda-invoke-store/)'],
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.ts',
  testTimeout: 30000,
};
