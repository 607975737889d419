/** Helpers the dashboard specs share: thresholds from prometheus/thresholds.ts and common expressions. */
import { THRESHOLDS } from '../../prometheus/thresholds.ts';

export const T = (name: keyof typeof THRESHOLDS) => THRESHOLDS[name].value;

/** Higher is worse: green, then the given steps. */
export const worseAbove = (...steps: [string, number][]) => ({ base: 'green', steps });
/** Lower is worse: red below the objective, green from it. */
export const betterAbove = (objective: number, warn?: number) => ({
  base: 'red',
  steps: [...(warn !== undefined ? ([['orange', warn]] as [string, number][]) : []), ['green', objective]] as [string, number][],
});

// ---- shared expressions ------------------------------------------------------------------------

export const frtQuantile = (q: number, window: string, by = '') =>
  `histogram_quantile(${q}, sum by (le${by}) (${window === '$__range' ? 'increase' : 'rate'}(whatsapp_first_response_seconds_bucket[${window}])))`;
export const waitingOver = (seconds: number) => `sum(max by (sentiment) (whatsapp_waiting_conversations{over_seconds="${seconds}"}))`;
