/**
 * The statements retention and erasure share: anonymise the chosen rows of a table by the
 * catalogue (personal-data.ts), clear raw bodies, delete contacts. Each runs inside the caller's
 * transaction and returns how many rows it changed, so one transaction anonymises a thread in
 * every table at once and its rows keep sharing one key.
 */
import type { Queryable } from '../storage/database.ts';
import { anonymizingSet, scopeCte } from './personal-data.ts';

/** Customer ids in the statement's scope and the pseudonym each gets. */
export interface ScopeEntry {
  wa_id: string;
  pseudonym: string;
}

/** Rows changed per table. */
export type RowCounts = Record<string, number>;

export function addCount(counts: RowCounts, table: string, n: number): void {
  if (n > 0) counts[table] = (counts[table] ?? 0) + n;
}

/**
 * Anonymises the rows of `table` (alias `t`) that `where` chooses. `$1` is the scope (JSON);
 * further parameters follow. Returns the values of `returning` of the changed rows.
 */
export async function anonymizeRows<R extends Record<string, unknown>>(
  tx: Queryable,
  table: string,
  where: string,
  scope: ScopeEntry[],
  params: unknown[] = [],
  returning = 'NULL AS none',
): Promise<R[]> {
  const { rows } = await tx.query<R>(
    `WITH ${scopeCte('$1')}
     UPDATE ${table} t SET ${anonymizingSet(table)}
      WHERE ${where}
     RETURNING ${returning}`,
    [JSON.stringify(scope), ...params],
  );
  return rows;
}

/** Clears the raw bodies with these ids (and any parser error quoting them); returns how many. */
export async function clearDeliveries(tx: Queryable, ids: (number | null)[]): Promise<number> {
  const list = [...new Set(ids.filter((id): id is number => id !== null))];
  if (list.length === 0) return 0;
  const { rowCount } = await tx.query(
    `UPDATE webhook_deliveries t SET ${anonymizingSet('webhook_deliveries')}
      WHERE t.id = ANY($1::bigint[]) AND t.payload IS NOT NULL`,
    [list],
  );
  return rowCount ?? 0;
}

/** Deletes the contacts in `waIds` that no row holds personal data for any more; returns the ids deleted. */
export async function deleteForgottenContacts(tx: Queryable, waIds: string[]): Promise<string[]> {
  if (waIds.length === 0) return [];
  const { rows } = await tx.query<{ wa_id: string }>(
    `DELETE FROM contacts k
      WHERE k.wa_id = ANY($1::text[])
        AND NOT EXISTS (SELECT 1 FROM messages m WHERE m.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM conversations c WHERE c.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM helpdesk_events e WHERE e.contact_wa_id = k.wa_id)
        AND NOT EXISTS (SELECT 1 FROM csat_surveys s WHERE s.contact_wa_id = k.wa_id)
      RETURNING k.wa_id`,
    [waIds],
  );
  return rows.map((r) => r.wa_id);
}

/** JSON text patterns that find a customer id as a whole string value (`"4915…"` or `"+4915…"`). */
export function jsonMentions(waId: string): string[] {
  const escaped = waId.replace(/[\\%_]/g, '\\$&');
  return [`%"${escaped}"%`, `%"+${escaped}"%`];
}

/**
 * Clears the account events (user preferences and the like) that name one of these customers;
 * returns how many and the raw bodies they came in.
 */
export async function clearAccountEventsOf(tx: Queryable, waIds: string[]): Promise<{ count: number; deliveries: (number | null)[] }> {
  if (waIds.length === 0) return { count: 0, deliveries: [] };
  const { rows } = await tx.query<{ delivery_id: number | null }>(
    `UPDATE account_events t SET ${anonymizingSet('account_events')}
      WHERE t.value IS NOT NULL AND t.value::text LIKE ANY($1::text[])
      RETURNING t.delivery_id`,
    [waIds.flatMap(jsonMentions)],
  );
  return { count: rows.length, deliveries: rows.map((r) => r.delivery_id) };
}
