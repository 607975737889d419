/** PromQL building blocks shared by the rules (prometheus/rules.ts) and the dashboards (grafana/specs/). */

/**
 * A matcher for the classic-histogram bucket with upper bound `bound`, in both label forms:
 * Prometheus 2 stores what the exporter writes (`le="60"`), Prometheus 3 normalises bounds to
 * floats (`le="60.0"`). An exact `le="60"` selects nothing on Prometheus 3.
 */
export function leMatcher(bound: number): string {
  if (!Number.isFinite(bound)) throw new Error(`not a bucket bound: ${bound}`);
  const text = String(bound);
  if (!Number.isInteger(bound)) return `le="${text}"`;
  return `le=~"${text}(\\\\.0)?"`;
}

/** Metric names of the exporter's own families (and the process/Node.js ones it exports). */
const EXPORTER_METRIC = /(?<![\w:])((?:whatsapp|process|nodejs)_[a-zA-Z0-9_]+)(\{[^}]*\})?(?![\w(:])/g;

/**
 * Adds `matchers` (e.g. `job=~"$job"`) to every selector of the exporter's metrics in `expr`,
 * so that dashboard variables filter every query the same way; `extra(name)` adds matchers to
 * some metrics only (the business number, on the families that carry it). Recorded series (with
 * a colon) and functions are left alone.
 */
export function withMatchers(expr: string, matchers: string[], extra: (metric: string) => string[] = () => []): string {
  return expr.replace(EXPORTER_METRIC, (all, name: string, braces: string | undefined) => {
    const added = [...matchers, ...extra(name)];
    if (added.length === 0) return all;
    const inner = braces?.slice(1, -1).trim();
    return `${name}{${inner ? `${added.join(', ')}, ${inner}` : added.join(', ')}}`;
  });
}

/** The metric family of a series name: a histogram's _bucket, _count and _sum belong to it. */
export function familyOf(series: string): string {
  return series.replace(/_(bucket|count|sum)$/, '');
}
