import { stopGlobalRig } from './global-setup';

/** Global teardown of the `aws` Jest project: stops DynamoDB Local and moto (their whole process groups). */
export default async function globalTeardown(): Promise<void> {
  await stopGlobalRig();
}
