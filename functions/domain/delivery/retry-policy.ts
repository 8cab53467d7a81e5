/**
 * When to try again. `delaysSeconds[i]` is the wait before retry i+1, after the immediate first attempt, so
 * `[1, 1, 1]` means four attempts. Scheduled delays get ±`jitter` so retries of many deliveries spread out.
 */
export interface RetryPolicy {
  readonly delaysSeconds: readonly number[];
  readonly jitter: number;
}

/** Immediately, 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, 10 h, 14 h, 20 h, 24 h: 11 attempts over about 3.5 days. */
export const DEFAULT_RETRY_DELAYS_SECONDS = [5, 300, 1800, 7200, 18000, 36000, 36000, 50400, 72000, 86400] as const;
export const DEFAULT_RETRY_POLICY: RetryPolicy = { delaysSeconds: DEFAULT_RETRY_DELAYS_SECONDS, jitter: 0.2 };

/** Parses `RETRY_SCHEDULE` ("5,300,1800"): comma-separated non-negative seconds. */
export const parseRetrySchedule = (value: string): number[] => {
  const delays = value.split(',').map((part) => Number(part.trim()));
  if (value.trim() === '' || delays.some((delay) => !Number.isFinite(delay) || delay < 0)) {
    throw new Error(`RETRY_SCHEDULE must be comma-separated non-negative seconds, got "${value}"`);
  }
  return delays;
};


/**
 * Seconds to wait after failed attempt `attemptMade` (1-based), or undefined when the schedule is exhausted.
 * A receiver's Retry-After is honoured but clamped to the schedule: never sooner than the scheduled delay, never
 * later than the schedule's longest delay.
 */
export const nextRetryDelaySeconds = (
  policy: RetryPolicy,
  attemptMade: number,
  retryAfterSeconds: number | undefined,
  random: () => number = Math.random,
): number | undefined => {
  const scheduled = policy.delaysSeconds[attemptMade - 1];
  if (scheduled === undefined) return undefined;
  const jittered = Math.max(0, scheduled * (1 + policy.jitter * (2 * random() - 1)));
  if (retryAfterSeconds === undefined) return jittered;
  const longest = Math.max(...policy.delaysSeconds);
  return Math.min(Math.max(retryAfterSeconds, jittered), longest);
};

/** Retry-After as delta-seconds or an HTTP date, in seconds from `now`; undefined when absent or unparsable. */
export const parseRetryAfter = (value: string | undefined, now: Date): number | undefined => {
  if (value === undefined) return undefined;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const date = Date.parse(trimmed);
  return Number.isNaN(date) ? undefined : Math.max(0, (date - now.getTime()) / 1000);
};
