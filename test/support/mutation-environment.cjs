const { TestEnvironment } = require('jest-environment-node');

/**
 * The test environment of mutation runs: once a test has failed while a mutant is active, that mutant is killed, so
 * the rest of its run is skipped (the remaining tests of the file and every test of the files after it). Jest
 * cannot bail within a run programmatically, and without this every covering test runs for every mutant.
 * Outside a mutant run (Stryker's initial run, which gathers coverage) nothing is skipped.
 */
const ACTIVE_MUTANT = '__STRYKER_ACTIVE_MUTANT__';
/** The mutant whose run has seen a failure. Module state: it outlives the per-file environments of one run. */
let killedMutant;

/** Skips a describe block's tests and hooks (`beforeAll` runs only for blocks not marked skipped). */
const skipAll = (block) => {
  block.mode = 'skip';
  for (const child of block.children) {
    if (child.type === 'test') child.mode = 'skip';
    else skipAll(child);
  }
};

module.exports = class MutationEnvironment extends TestEnvironment {
  async handleTestEvent(event, state) {
    const mutant = process.env[ACTIVE_MUTANT];
    if (mutant === undefined) return;
    if (event.name === 'test_fn_failure' || event.name === 'hook_failure') killedMutant = mutant;
    else if (killedMutant === mutant && event.name === 'run_start') skipAll(state.rootDescribeBlock);
    else if (killedMutant === mutant && event.name === 'test_start') event.test.mode = 'skip';
  }
};
