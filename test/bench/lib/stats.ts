/** Small statistics helpers shared by the benchmarks. */

/** Linear-interpolated percentile (p in 0-100) of the values; NaN when there are none. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p / 100) * (sorted.length - 1);
  const low = Math.floor(rank);
  const high = Math.ceil(rank);
  return sorted[low]! + (sorted[high]! - sorted[low]!) * (rank - low);
};

export const median = (values: readonly number[]): number => percentile(values, 50);

export const mean = (values: readonly number[]): number =>
  values.length === 0 ? Number.NaN : values.reduce((sum, value) => sum + value, 0) / values.length;

/** Rounds to `digits` significant decimals, keeping JSON and tables readable. */
export const round = (value: number, digits = 2): number => {
  if (!Number.isFinite(value)) return value;
  const factor = 10 ** digits;
  return Math.round(value * factor) / factor;
};

/** User + system CPU time of this process, in milliseconds. */
export const cpuMs = (): number => {
  const { user, system } = process.cpuUsage();
  return (user + system) / 1000;
};

/** Wall time in milliseconds, sub-millisecond resolution, comparable across processes of one machine. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Summary of a latency sample in milliseconds. */
export const latencySummary = (values: readonly number[]) => ({
  n: values.length,
  p50: round(percentile(values, 50), 3),
  p90: round(percentile(values, 90), 3),
  p99: round(percentile(values, 99), 3),
  max: round(values.length ? Math.max(...values) : Number.NaN, 3),
});
export type LatencySummary = ReturnType<typeof latencySummary>;
