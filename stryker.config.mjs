// Mutation testing (npm run test:mutation): StrykerJS mutates the domain and the HTTP adapters one change at a time
// and runs the tests that cover each change; a mutant that no test notices is a behaviour nothing guards.
// Incremental: test/stryker-incremental.json (committed) remembers every result, so a re-run tests only what changed.
// Only in-process suites run here: code a suite runs in a child process (`npm start` in the API and pipeline suites)
// is not under Stryker's control there, so those suites could not kill a mutant (TESTING.md).
/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
export default {
  packageManager: 'npm',
  testRunner: 'jest',
  testRunnerNodeArgs: ['--experimental-vm-modules'],
  // The unit and integration projects' settings as one project, without the suites that run `npm start` in a child
  // process (delivery-pipeline, local-mode, subscriptions-api): code there is out of Stryker's reach.
  jest: { projectType: 'custom', configFile: 'test/jest.mutation.config.json', enableFindRelatedTests: false },
  mutate: ['functions/domain/**/*.ts', 'functions/adapters/http/**/*.ts', '!**/*.d.ts'],
  coverageAnalysis: 'perTest',
  // Module-level mutants (constants, top-level wiring) need every test for each of them: 9 % of the mutants, most of the
  // run. The wiring is covered by the tests through the real handlers instead; they are listed as ignored.
  ignoreStatic: true,
  incremental: true,
  incrementalFile: 'test/stryker-incremental.json',
  concurrency: 2,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'json', 'html'],
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  tempDirName: '.stryker-tmp',
  cleanTempDir: 'always',
  ignorePatterns: ['.tools', '.data', 'cdk.out', 'reports', 'coverage'],
};
