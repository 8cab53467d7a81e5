import { fileURLToPath } from 'node:url';

/** The repository root (lib/..): the Lambda entry points, package-lock.json and the esbuild install live here. */
export const repoRoot = fileURLToPath(new URL('..', import.meta.url));
