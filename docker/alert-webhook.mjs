// A stand-in for your paging and chat tools: prometheus/alertmanager.yml sends every receiver's
// notifications to http://alert-webhook:9099/<receiver>; this logs one line per alert to stdout
// (`docker compose logs -f alert-webhook`). Replace the receivers' URLs to route them for real.
import http from 'node:http';

const port = Number(process.env.PORT || 9099);
http
  .createServer((req, res) => {
    let body = '';
    req.setEncoding('utf8');
    req.on('data', (chunk) => (body += chunk));
    req.on('end', () => {
      try {
        const notification = JSON.parse(body);
        for (const alert of notification.alerts ?? []) {
          const { alertname, severity, audience, agent } = alert.labels ?? {};
          console.log(JSON.stringify({ time: new Date().toISOString(), receiver: req.url, status: alert.status, alertname, severity, audience, agent, summary: alert.annotations?.summary }));
        }
        res.writeHead(200).end('ok');
      } catch {
        res.writeHead(400).end('expected an Alertmanager webhook notification');
      }
    });
  })
  .listen(port, () => console.log(`alert-webhook listening on :${port}`));
