import { eventCatalogue } from './event-catalogue.js';

/**
 * The EventBridge event pattern selecting what the platform delivers: the catalogue's producer event types,
 * from the allowed sources. The CDK rule is built from it, and local mode routes PutEvents entries with it.
 */
export interface EventPattern {
  readonly source?: readonly string[];
  readonly 'detail-type': readonly string[];
}

export const buildEventPattern = (allowedSources?: readonly string[]): EventPattern => ({
  ...(allowedSources && allowedSources.length > 0 && { source: [...allowedSources] }),
  'detail-type': eventCatalogue.filter((eventType) => eventType.publishedBy === 'producers').map((eventType) => eventType.name),
});

/** Exact-match semantics of EventBridge patterns for the two fields the platform's rule uses. */
export const matchesEventPattern = (pattern: EventPattern, event: { source: string; detailType: string }): boolean =>
  (pattern.source === undefined || pattern.source.includes(event.source)) && pattern['detail-type'].includes(event.detailType);
