/**
 * Business metrics as CloudWatch receives them: EMF lines on stdout, captured. Tests run with
 * POWERTOOLS_METRICS_DISABLED=true (global setup); `testMetrics()` builds a recorder with it off.
 */
import { EmfMetrics, type EmfMetricsOptions } from '../../lambdas/core/metrics';

export function testMetrics(options: EmfMetricsOptions = {}): EmfMetrics {
  const saved = process.env.POWERTOOLS_METRICS_DISABLED;
  process.env.POWERTOOLS_METRICS_DISABLED = 'false';
  try {
    return new EmfMetrics({ namespace: 'SesameTest', service: 'test', ...options });
  } finally {
    process.env.POWERTOOLS_METRICS_DISABLED = saved;
  }
}

export interface EmfLine {
  readonly _aws: { Timestamp: number; CloudWatchMetrics: { Namespace: string; Dimensions: string[][]; Metrics: { Name: string; Unit: string }[] }[] };
  readonly [key: string]: unknown;
}

/** Runs `act` and returns the EMF lines written to stdout meanwhile (other lines are ignored). */
export async function emfLines(act: () => Promise<unknown>): Promise<EmfLine[]> {
  const written: string[] = [];
  const spy = jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
    written.push(String(chunk));
    return true;
  });
  try {
    await act();
  } finally {
    spy.mockRestore();
  }
  return written.join('').split('\n').filter((l) => l.startsWith('{"_aws"')).map((l) => JSON.parse(l) as EmfLine);
}

/** The value of metric `name` in the line whose dimensions match `dimensions` exactly, or undefined. */
export function metricValue(lines: readonly EmfLine[], name: string, dimensions: Record<string, string>): number | undefined {
  const keys = Object.keys(dimensions).sort().join(',');
  const line = lines.find((l) => {
    const declared = l._aws.CloudWatchMetrics[0]!;
    return declared.Metrics.some((m) => m.Name === name)
      && declared.Dimensions.some((d) => [...d].sort().join(',') === keys)
      && Object.entries(dimensions).every(([k, v]) => l[k] === v);
  });
  return line?.[name] as number | undefined;
}
