import { createAuthorizer } from './authorizer.js';
import { parseApiEnvironment } from './config.js';
import { createApiKeyRepository } from './wiring.js';

export const handler = createAuthorizer(createApiKeyRepository(parseApiEnvironment()));
