/**
 * The dashboards as committed, and their panel queries the way Grafana sends them (variables
 * substituted), for the tests that run every panel against a real Prometheus and PostgreSQL.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export type Json = Record<string, any>;

export const DASHBOARDS_DIR = fileURLToPath(new URL('../../grafana/dashboards/', import.meta.url));

export const dashboards: Json[] = readdirSync(DASHBOARDS_DIR)
  .filter((f) => f.endsWith('.json'))
  .sort()
  .map((f) => ({ file: f, ...JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')) }));

export const panelsOf = (d: Json): Json[] =>
  (d.panels as Json[]).flatMap((p) => [p, ...((p.panels as Json[] | undefined) ?? [])]).filter((p) => p.type !== 'row');

/** Grafana's substitutions: `$__rate_interval` (4 × the scrape interval), the range, and "All" for every variable. */
export function substitutePromQL(expr: string, range = '1h', rateInterval = '1m'): string {
  return expr
    .replaceAll('$__rate_interval', rateInterval)
    .replaceAll('$__interval', '15s')
    .replaceAll('$__range', range)
    .replace(/\$\{?(agent|category|job|instance|business_number)(:regex)?\}?/g, '.*');
}

export function substituteSql(sql: string, from: Date, to: Date): string {
  return sql
    .replace(/\$__timeFilter\(([^)]+)\)/g, `$1 BETWEEN '${from.toISOString()}' AND '${to.toISOString()}'`)
    .replaceAll('$__timeFrom()', `'${from.toISOString()}'`)
    .replaceAll('$__timeTo()', `'${to.toISOString()}'`)
    .replace(/\$\{(agent|category):regex\}/g, '.*');
}

export type QueryResult = { http: number; body: Json | undefined };

/** An instant query on Prometheus, as Grafana's stat and table panels send it. */
export async function promQuery(promPort: number, expr: string): Promise<QueryResult> {
  const res = await fetch(`http://127.0.0.1:${promPort}/api/v1/query`, {
    method: 'POST',
    body: new URLSearchParams({ query: expr }),
  }).catch(() => undefined);
  if (!res) return { http: 0, body: undefined };
  return { http: res.status, body: (await res.json()) as Json };
}

/** Why a query's answer shows no data in Grafana, or undefined when it has data. */
export function noData({ http, body }: QueryResult): string | undefined {
  const result = (body?.data?.result ?? []) as { value: [number, string] }[];
  if (http !== 200 || body?.status !== 'success') return `HTTP ${http} ${body?.error ?? ''}`;
  if (result.length === 0) return 'no data';
  if (result.every((r) => r.value[1] === 'NaN')) return 'only NaN';
  return undefined;
}
