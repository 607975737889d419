/**
 * The bounded set of request categories every `category` label comes from. Anything outside it
 * is counted as `other`; a conversation not (yet) categorised is `unknown`.
 */
export const DEFAULT_CATEGORIES = ['billing', 'delivery', 'refund', 'product', 'account', 'other'] as const;

export function boundedCategory(category: string, known: readonly string[] = DEFAULT_CATEGORIES): string {
  const normalized = category.trim().toLowerCase();
  return known.includes(normalized) || normalized === 'unknown' ? normalized : 'other';
}
