import { RIG_ENV } from './emulators.js';

/**
 * setupFiles of the `aws` Jest project: points this test file at the emulators that global setup started.
 * Jest gives each test file its own copy of process.env, so nothing here reaches other projects' files.
 */
const dynamoDb = process.env[RIG_ENV.dynamodb];
const moto = process.env[RIG_ENV.moto];
if (!dynamoDb || !moto) {
  throw new Error(`${RIG_ENV.dynamodb} / ${RIG_ENV.moto} are not set: the aws project's global setup did not run`);
}
process.env.TEST_DYNAMODB_ENDPOINT = dynamoDb;
process.env.TEST_MOTO_ENDPOINT = moto;
