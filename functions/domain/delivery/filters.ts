/**
 * A webhook's filters match an event when, for every filtered attribute, the event carries that attribute with
 * one of the allowed values. No filters match every event.
 */
export const matchesFilters = (
  filters: Readonly<Record<string, readonly string[]>> | undefined,
  attributes: Readonly<Record<string, string>> | undefined,
): boolean =>
  Object.entries(filters ?? {}).every(([name, allowed]) => {
    const value = attributes?.[name];
    return value !== undefined && allowed.includes(value);
  });
