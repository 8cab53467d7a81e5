import { writeFileSync } from 'node:fs';
import { buildOpenApiDocument } from './openapi.js';

/** `npm run openapi`: writes the committed copy of the OpenAPI document (a test checks it is current). */
const OPENAPI_FILE = new URL('./openapi.json', import.meta.url);

writeFileSync(OPENAPI_FILE, `${JSON.stringify(buildOpenApiDocument(), null, 2)}\n`);
console.log(`wrote ${OPENAPI_FILE.pathname}`);
