/**
 * Helpers the dashboard specs share: thresholds and targets from prometheus/thresholds.ts, and
 * common expressions. Gauges are the same on every replica (max), and are kept apart per business
 * number before they are summed.
 */
import { ALERT_PREFIX } from '../../prometheus/rules.ts';
import { type Target, TARGETS, THRESHOLDS } from '../../prometheus/thresholds.ts';

export const T = (name: keyof typeof THRESHOLDS) => THRESHOLDS[name].value;
export { TARGETS };

/** Higher is worse: green, then the given steps. */
export const worseAbove = (...steps: [string, number][]) => ({ base: 'green', steps });
/** Lower is worse: red below the objective, green from it. */
export const betterAbove = (objective: number, warn?: number) => ({
  base: 'red',
  steps: [...(warn !== undefined ? ([['orange', warn]] as [string, number][]) : []), ['green', objective]] as [string, number][],
});
/**
 * A target band (TARGETS): green inside it; below it `below` (red, or orange when too low is a
 * waste rather than a failure), above it `above` (red when too high hurts, blue when it is better).
 */
export const targetBand = (target: Target & { upTo: number }, below: string, above: string) => ({
  base: below,
  steps: [
    ['green', target.value],
    [above, target.upTo],
  ] as [string, number][],
});

/** A percentage for titles: 0.85 → "85 %". */
export const pct = (ratio: number) => `${Math.round(ratio * 100)} %`;
/** How a target reads in a panel title: "target ≥ 80 %", "target 85–90 %", "target ≤ 1 min". */
export function targetText(target: Target, direction: 'at least' | 'at most'): string {
  const format = (value: number) =>
    target.unit === 'ratio' ? pct(value) : target.unit === 's' && value % 60 === 0 ? `${value / 60} min` : `${value} ${target.unit}`;
  if (target.upTo !== undefined) return `target ${format(target.value).replace(' %', '')}–${format(target.upTo)}`;
  return `target ${direction === 'at least' ? '≥' : '≤'} ${format(target.value)}`;
}

// ---- shared expressions ------------------------------------------------------------------------

export const frtQuantile = (q: number, window: string, by = '') =>
  `histogram_quantile(${q}, sum by (le${by}) (${window === '$__range' ? 'increase' : 'rate'}(whatsapp_first_response_seconds_bucket[${window}])))`;
/** Customers waiting longer than `seconds` now, summed over business numbers and sentiments. */
export const waitingOver = (seconds: number) =>
  `sum(max by (business_number, sentiment) (whatsapp_waiting_conversations{over_seconds="${seconds}"}))`;
/** This project's alerts in Prometheus' ALERTS series (not every alert of the user's Prometheus), with more matchers. */
export const projectAlerts = (...matchers: string[]) => `ALERTS{${[`alertname=~"${ALERT_PREFIX}.+"`, ...matchers].join(', ')}}`;
