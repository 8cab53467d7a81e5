import { IN_PROCESS_PLATFORM } from './local-platform-process.js';

/** setupFiles of the mutation-testing Jest config: suites start the local platform in their own process. */
process.env[IN_PROCESS_PLATFORM] = 'true';
