import * as z from 'zod';

/**
 * The CloudWatch Embedded Metric Format specification as a schema: a root `_aws` member with a millisecond
 * Timestamp and CloudWatchMetrics directives (Namespace, Dimensions as arrays of dimension-name sets of at most
 * 30, Metrics with Name and an optional standard Unit), and every referenced dimension and metric present as a
 * top-level member: dimensions as strings, metrics as a number or an array of at most 100 numbers.
 */
const STANDARD_UNITS = [
  'Seconds', 'Microseconds', 'Milliseconds', 'Bytes', 'Kilobytes', 'Megabytes', 'Gigabytes', 'Terabytes', 'Bits',
  'Kilobits', 'Megabits', 'Gigabits', 'Terabits', 'Percent', 'Count', 'Bytes/Second', 'Kilobytes/Second',
  'Megabytes/Second', 'Gigabytes/Second', 'Terabytes/Second', 'Bits/Second', 'Kilobits/Second', 'Megabits/Second',
  'Gigabits/Second', 'Terabits/Second', 'Count/Second', 'None',
] as const;

const Directive = z.object({
  Namespace: z.string().min(1).max(255),
  Dimensions: z.array(z.array(z.string().min(1)).max(30)),
  Metrics: z
    .array(
      z.object({
        Name: z.string().min(1).max(255),
        Unit: z.enum(STANDARD_UNITS).optional(),
        StorageResolution: z.union([z.literal(1), z.literal(60)]).optional(),
      }),
    )
    .max(100),
});

export const EmfLine = z
  .looseObject({
    _aws: z.object({ Timestamp: z.number().int().positive(), CloudWatchMetrics: z.array(Directive).min(1) }),
  })
  .superRefine((line, context) => {
    for (const directive of line._aws.CloudWatchMetrics) {
      for (const name of directive.Dimensions.flat()) {
        if (typeof line[name] !== 'string') context.addIssue({ code: 'custom', message: `dimension ${name} is not a string member` });
      }
      for (const { Name } of directive.Metrics) {
        const value = line[Name];
        const valid = typeof value === 'number' || (Array.isArray(value) && value.length <= 100 && value.every((v) => typeof v === 'number'));
        if (!valid) context.addIssue({ code: 'custom', message: `metric ${Name} has no numeric member` });
      }
    }
  });
export type EmfLine = z.output<typeof EmfLine>;

/** Captures what the code writes to stdout and returns the EMF lines among it, each validated. */
export const captureEmf = () => {
  const written: string[] = [];
  const original = process.stdout.write.bind(process.stdout);
  process.stdout.write = ((chunk: string | Uint8Array, ...rest: unknown[]) => {
    written.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString());
    return (original as (...args: unknown[]) => boolean)(chunk, ...rest);
  }) as typeof process.stdout.write;
  return {
    lines: (): EmfLine[] =>
      written
        .join('')
        .split('\n')
        .filter((line) => line.includes('"_aws"'))
        .map((line) => EmfLine.parse(JSON.parse(line))),
    restore: () => {
      process.stdout.write = original;
    },
  };
};
