import { eventCatalogue, findEventType, subscribableEventTypeNames } from '../../functions/contracts/event-catalogue.js';

describe('event-type catalogue', () => {
  it.each(eventCatalogue.map((eventType) => [eventType.name, eventType] as const))(
    'the example of %s satisfies its schema',
    (_name, eventType) => {
      expect(eventType.schema.safeParse(eventType.example).success).toBe(true);
    },
  );

  it('has unique, dot- or colon-separated lowercase names', () => {
    const names = eventCatalogue.map((eventType) => eventType.name);
    expect(new Set(names).size).toBe(names.length);
    for (const name of names) expect(name).toMatch(/^[a-z][a-z0-9_]*([.:][a-z][a-z0-9_]*)*$/);
  });

  it('offers ping, which can never be subscribed to explicitly', () => {
    expect(findEventType('ping')?.subscribable).toBe(false);
    expect(subscribableEventTypeNames()).not.toContain('ping');
  });

  it('ships at least three subscribable example types, including one not in use yet', () => {
    const subscribable = eventCatalogue.filter((eventType) => eventType.subscribable);
    expect(subscribable.length).toBeGreaterThanOrEqual(3);
    expect(subscribable.some((eventType) => !eventType.inUse)).toBe(true);
  });
});
