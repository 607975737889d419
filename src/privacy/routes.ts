/**
 * `DELETE /api/v1/customers/{wa_id}`: erases one customer's personal data (erasure.ts), behind the
 * events API's bearer token. 200 with what was removed per table (all zeros when nothing was
 * known: erasure is idempotent); 400 for an id that cannot be a customer's; 401 without the
 * token; 503 while the database is away or not migrated.
 */
import { Router } from 'express';
import { bearerCheck } from '../http/auth.ts';
import { HttpError, sendError } from '../http/errors.ts';
import { type ErasureContext, ErasureInputError, eraseCustomer } from './erasure.ts';

export interface ErasureRouteOptions {
  token: string;
  isReady: () => boolean;
  /** Runs before each erasure (the app applies the ingest queue). */
  beforeErasure?: () => Promise<unknown>;
}

export function erasureRouter(context: ErasureContext, options: ErasureRouteOptions): Router {
  const router = Router();
  router.delete('/api/v1/customers/:waId', async (req, res) => {
    const denied = bearerCheck(req.get('authorization'), options.token, 'DELETE /api/v1/customers/{wa_id}');
    if (denied) return sendError(res, denied);
    if (!options.isReady()) return sendError(res, new HttpError('unavailable', 'database not ready yet, retry later'));
    try {
      // Webhooks answered but not applied yet are applied first: erased data must not come back after.
      await options.beforeErasure?.();
      const result = await eraseCustomer(context, String(req.params.waId));
      res.status(200).json({ status: result.total > 0 ? 'erased' : 'not_found', ...result });
    } catch (error) {
      if (error instanceof ErasureInputError) return sendError(res, new HttpError('bad_request', error.message));
      throw error;
    }
  });
  return router;
}
