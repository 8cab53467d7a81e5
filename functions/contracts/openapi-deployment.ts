import { HTTP_OR_HTTPS, HTTPS_ONLY, WEBHOOK_URL_PATTERN } from './common.schema.js';

/** What a deployment accepts beyond what the committed document states for every deployment. */
export interface DeploymentRules {
  /** AWS_REGION: the one value `?region=` may take. */
  readonly region: string;
  /** ALLOW_HTTP_URLS: whether webhook URLs may be http:// (local mode) or must be https://. */
  readonly allowHttpUrls: boolean;
}

/**
 * The OpenAPI document as one deployment serves it (GET /v1/openapi.json): the committed document, which states what
 * region names look like and allows http and https webhook URLs, narrowed to this deployment's region, and to https
 * where it refuses http. So the served document allows what this deployment accepts (the contract test checks it
 * against local mode). Works on the JSON, without the generator, so that serving it costs the function no cold start.
 */
export const openApiDocumentFor = <Document>(document: Document, rules: DeploymentRules): Document => {
  const served = structuredClone(document) as { paths?: Record<string, Record<string, { parameters?: Parameter[] }>> };
  for (const operations of Object.values(served.paths ?? {})) {
    for (const operation of Object.values(operations)) {
      for (const parameter of operation.parameters ?? []) {
        if (parameter.in !== 'query' || parameter.name !== 'region') continue;
        const description = `When given, must be ${rules.region}, the region of this deployment.`;
        parameter.schema = { type: 'string', enum: [rules.region], description };
        parameter.description = description;
      }
    }
  }
  if (!rules.allowHttpUrls) {
    const httpsOnly = WEBHOOK_URL_PATTERN.source.replace(`^${HTTP_OR_HTTPS}`, `^${HTTPS_ONLY}`);
    replacePatterns(served, WEBHOOK_URL_PATTERN.source, httpsOnly);
  }
  return served as Document;
};

const replacePatterns = (node: unknown, from: string, to: string): void => {
  if (Array.isArray(node)) {
    for (const item of node) replacePatterns(item, from, to);
  } else if (node !== null && typeof node === 'object') {
    const record = node as Record<string, unknown>;
    for (const [key, value] of Object.entries(record)) {
      if (key === 'pattern' && value === from) record[key] = to;
      else replacePatterns(value, from, to);
    }
  }
};

interface Parameter {
  in?: string;
  name?: string;
  description?: string;
  schema?: Record<string, unknown>;
}
