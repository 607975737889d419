/**
 * A stand-in for Meta's Graph API send endpoint (`POST /<version>/<phone_number_id>/messages`),
 * so that the exporter's CSAT surveys have somewhere to go in the demo. It answers like Meta
 * (a wamid per message) and tells the simulator, which then plays the survey's status webhooks
 * and the customer's answer. Point WHATSAPP_API_URL at it; never use it with a real Meta app.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface SentMessage {
  phoneNumberId: string;
  to: string;
  type: string;
  wamid: string;
  callback: string | undefined;
  body: Record<string, unknown>;
}

export interface GraphApiStub {
  /** Base URL including a version path, for WHATSAPP_API_URL. */
  url: string;
  sent: SentMessage[];
  close(): Promise<void>;
}

export async function startGraphApiStub(options: {
  port?: number;
  host?: string;
  onSend: (message: SentMessage) => void;
}): Promise<GraphApiStub> {
  const sent: SentMessage[] = [];
  const server = http.createServer((req, res) => {
    const match = /^\/v[\d.]+\/([^/]+)\/messages\/?$/.exec(req.url ?? '');
    if (req.method !== 'POST' || !match) {
      res
        .writeHead(404, { 'Content-Type': 'application/json' })
        .end(JSON.stringify({ error: { message: 'Unsupported request', type: 'GraphMethodException', code: 100 } }));
      return;
    }
    let raw = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (raw += chunk));
    req.on('end', () => {
      let body: Record<string, unknown>;
      try {
        body = JSON.parse(raw) as Record<string, unknown>;
      } catch {
        res.writeHead(400, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: { message: 'Invalid JSON', code: 100 } }));
        return;
      }
      const to = String(body.to ?? '').replace(/\D/g, '');
      const wamid = `wamid.demoapi${randomBytes(9).toString('hex')}`;
      const message: SentMessage = {
        phoneNumberId: decodeURIComponent(match[1]!),
        to,
        type: String(body.type ?? 'text'),
        wamid,
        callback: typeof body.biz_opaque_callback_data === 'string' ? body.biz_opaque_callback_data : undefined,
        body,
      };
      sent.push(message);
      if (sent.length > 10_000) sent.splice(0, sent.length - 10_000);
      res.writeHead(200, { 'Content-Type': 'application/json' }).end(
        JSON.stringify({
          messaging_product: 'whatsapp',
          contacts: [{ input: String(body.to ?? ''), wa_id: to }],
          messages: [{ id: wamid }],
        }),
      );
      options.onSend(message);
    });
  });
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' ? options.host : '127.0.0.1';
  return {
    url: `http://${host}:${port}/v24.0`,
    sent,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
