/**
 * Bodies nested deeper than any real webhook or event are refused up front (400): walking them
 * later (JSON.stringify, PostgreSQL jsonb) would overflow the stack or the database's limits.
 */
export const MAX_JSON_DEPTH = 64;

/** Whether any value sits deeper than `max` levels. Iterative, so depth cannot overflow the stack. */
export function tooDeep(value: unknown, max = MAX_JSON_DEPTH): boolean {
  const stack: [unknown, number][] = [[value, 1]];
  while (stack.length > 0) {
    const [node, depth] = stack.pop()!;
    if (typeof node !== 'object' || node === null) continue;
    if (depth > max) return true;
    for (const child of Array.isArray(node) ? node : Object.values(node)) stack.push([child, depth + 1]);
  }
  return false;
}
