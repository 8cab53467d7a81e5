import { fromEnv } from '@aws-sdk/credential-provider-env';

/**
 * The AWS SDK's default credential chain as the Lambda bundles have it: WebhookFunction's esbuild options alias
 * `@aws-sdk/credential-provider-node` (whose `defaultProvider` every SDK client's runtime config imports) to this
 * module, so a client without explicit credentials takes the execution role's, which Lambda puts in the
 * environment (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN). The default chain tries those first
 * too; what it adds (SSO, shared config files, credential processes, web identity, container and instance
 * metadata) never applies in a Lambda, and loading it cost every cold start about 13 ms (benchmark 2). Code run
 * outside the bundles (local mode, tests, the admin CLI) keeps the default chain.
 */
export const defaultProvider = (init: Parameters<typeof fromEnv>[0] = {}) => fromEnv(init);
