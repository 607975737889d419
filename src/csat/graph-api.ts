/**
 * Sending a WhatsApp message through the Cloud API (Graph API):
 * `POST {WHATSAPP_API_URL}/{phone_number_id}/messages` with a bearer token. Meta's errors come
 * back as `{"error": {"code", "message", "error_data": {"details"}}}`; we classify them by code
 * (Meta: build logic on `code`, not on titles).
 */
export type SendResult =
  | { ok: true; wamid: string }
  | { ok: false; code: number | null; message: string; retryable: boolean; outsideWindow: boolean };

/** Throttling, pair rate limit, transient and API rate limit codes: worth retrying later. */
const RETRYABLE_CODES = new Set([1, 2, 4, 17, 341, 80007, 130429, 131000, 131016, 131056]);
/** "More than 24 hours have passed since the recipient last replied": needs a template. */
export const OUTSIDE_WINDOW_CODE = 131047;

export interface GraphApi {
  apiUrl: string;
  accessToken: string;
  timeoutMs?: number;
}

export async function sendWhatsAppMessage(api: GraphApi, phoneNumberId: string, payload: Record<string, unknown>): Promise<SendResult> {
  let response: Response;
  try {
    response = await fetch(`${api.apiUrl}/${encodeURIComponent(phoneNumberId)}/messages`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${api.accessToken}`, 'Content-Type': 'application/json' },
      body: JSON.stringify({ messaging_product: 'whatsapp', recipient_type: 'individual', ...payload }),
      signal: AbortSignal.timeout(api.timeoutMs ?? 10_000),
    });
  } catch (error) {
    // Refused or unresolvable: nothing was sent, so trying again is safe. A timeout or a reset
    // may come after Meta accepted the message: resending could deliver the survey twice.
    const code = ((error as { cause?: { code?: string } }).cause?.code ?? '') as string;
    const nothingSent = ['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH'].includes(code);
    return {
      ok: false,
      code: null,
      message: nothingSent
        ? `Graph API unreachable (${code})`
        : `Graph API did not answer (${(error as Error).name}: ${(error as Error).message}); not resent, it may have been delivered`,
      retryable: nothingSent,
      outsideWindow: false,
    };
  }
  const body = (await response.json().catch(() => ({}))) as {
    messages?: { id?: string }[];
    error?: { code?: number; message?: string; error_data?: { details?: string } };
  };
  const wamid = body.messages?.[0]?.id;
  if (response.ok && wamid) return { ok: true, wamid };
  const code = typeof body.error?.code === 'number' ? body.error.code : null;
  const message = [body.error?.message, body.error?.error_data?.details].filter(Boolean).join(': ') || `HTTP ${response.status}`;
  return {
    ok: false,
    code,
    message,
    retryable: response.status >= 500 || response.status === 429 || (code !== null && RETRYABLE_CODES.has(code)),
    outsideWindow: code === OUTSIDE_WINDOW_CODE,
  };
}
