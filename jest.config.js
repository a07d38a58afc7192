// Unit tests live beside the code; end-to-end tests in test/ run against a real PostgreSQL
// created for this run by test/support/global-setup.mjs (dropped again in global-teardown.mjs).
const moduleNameMapper = {
  '^@constellation/(.*)$': '<rootDir>/libs/$1/src',
};
const transform = {
  '^.+\\.ts$': ['ts-jest', { tsconfig: '<rootDir>/tsconfig.json', diagnostics: false }],
};

module.exports = {
  // Jest reads testTimeout from the global configuration, not a project's: without it every hook and test
  // that does not set its own has 5 s, which a loaded CI machine can exceed while an app starts.
  testTimeout: 60000,
  globalSetup: '<rootDir>/test/support/global-setup.mjs',
  globalTeardown: '<rootDir>/test/support/global-teardown.mjs',
  projects: [
    {
      displayName: 'unit',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: [
        '<rootDir>/libs/**/*.spec.ts',
        '<rootDir>/apps/**/*.spec.ts',
        '<rootDir>/deploy/**/*.spec.ts',
      ],
      testPathIgnorePatterns: ['/node_modules/', '<rootDir>/apps/console/'],
      moduleNameMapper,
      transform,
    },
    {
      // The web console's logic (projection, colours, form mapping). d3-geo and its kin ship only as ES
      // modules: ts-jest turns them into CommonJS like the console's own files.
      displayName: 'console',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'tsx', 'js', 'mjs', 'json'],
      testMatch: ['<rootDir>/apps/console/**/*.spec.ts'],
      transform: {
        '^.+\\.(ts|tsx|js|mjs)$': [
          'ts-jest',
          {
            tsconfig: { jsx: 'react-jsx', module: 'commonjs', allowJs: true, esModuleInterop: true },
            diagnostics: false,
          },
        ],
      },
      transformIgnorePatterns: ['/node_modules/(?!(d3-[a-z-]+|internmap|topojson-client)/)'],
    },
    {
      displayName: 'e2e',
      rootDir: __dirname,
      testEnvironment: 'node',
      moduleFileExtensions: ['ts', 'js', 'json'],
      testMatch: ['<rootDir>/test/**/*.e2e-spec.ts'],
      moduleNameMapper,
      transform,
      testTimeout: 60000,
    },
  ],
};
