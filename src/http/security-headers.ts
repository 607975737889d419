/**
 * Response headers that make every answer safe to open in a browser: nothing may be sniffed as
 * another type, framed, cached, or load anything (the landing page is plain HTML with links).
 * A dozen fixed headers do not need helmet; TLS and HSTS belong to the reverse proxy in front.
 */
import type { RequestHandler } from 'express';

export const SECURITY_HEADERS: Readonly<Record<string, string>> = Object.freeze({
  'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cross-Origin-Resource-Policy': 'same-origin',
  'Permissions-Policy': 'camera=(), geolocation=(), microphone=(), payment=()',
  // Challenges, metrics and erasure reports must never sit in a shared cache.
  'Cache-Control': 'no-store',
});

export function securityHeaders(): RequestHandler {
  return (_req, res, next) => {
    res.set(SECURITY_HEADERS);
    next();
  };
}
