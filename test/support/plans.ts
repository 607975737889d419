/**
 * Generic plans: the plan a connection keeps once it has prepared a statement, which PostgreSQL
 * makes without the parameters' values and from the tables' statistics at that moment (the plan
 * trap of docs/performance.md). Shared by test/ingest-intake.test.ts and `npm run bench:plans`.
 */
import type { Queryable } from '../../src/storage/database.ts';

export interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Subplan Name'?: string;
  Plans?: PlanNode[];
}

/**
 * The generic plan of `sql`, explained inside the caller's transaction `tx` (SET LOCAL ends with
 * it). `types`: the PREPARE parameter types, e.g. "(jsonb)", or '' to infer them; `args`: the
 * EXECUTE arguments, e.g. "('[]', 3600)", or '' for none.
 */
export async function genericPlan(tx: Queryable, sql: string, types: string, args: string): Promise<PlanNode> {
  await tx.query('SET LOCAL plan_cache_mode = force_generic_plan');
  await tx.query(`PREPARE plan_check ${types} AS ${sql}`);
  try {
    const { rows } = await tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (FORMAT JSON) EXECUTE plan_check ${args}`);
    return rows[0]!['QUERY PLAN'][0].Plan;
  } finally {
    await tx.query('DEALLOCATE plan_check');
  }
}

/** Every node of a plan, the root first. */
export function nodesOf(plan: PlanNode): PlanNode[] {
  return [plan, ...(plan.Plans ?? []).flatMap(nodesOf)];
}
