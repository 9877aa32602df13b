// Baseline (a): a bare Express 5 app serving the same JSON as GET /room/{room_name}, and
// acknowledging POST /public/event_sink after parsing its JSON (nothing checked or stored).
// With OBSERVED=1 it also does what any production service does on every request and
// the gateway must too: a request id, helmet's security headers and one JSON log line
// (pino, written asynchronously like the gateway's) — context for the ratio, not a goal.
import { randomUUID } from 'node:crypto';
import express from 'express';
import helmet from 'helmet';
import pino from 'pino';

const body = JSON.parse(process.env.ROOM_JSON ?? '{}');
const app = express();
if (process.env.OBSERVED === '1') {
  const logger = pino(pino.destination({ dest: '/dev/null', sync: false, minLength: 4096 }));
  app.use((req, res, next) => {
    const id = randomUUID();
    const started = performance.now();
    res.setHeader('x-request-id', id);
    res.once('close', () => logger.info({ req: { id, method: req.method, path: req.path }, res: { statusCode: res.statusCode }, responseTime: performance.now() - started }, 'request completed'));
    next();
  });
  app.use(helmet());
}
app.get('/room/:room_name', (_req, res) => {
  res.json(body);
});
app.get('/public/room/:room_name', (_req, res) => {
  res.json(body);
});
app.post('/public/event_sink', express.json({ limit: '10mb' }), (_req, res) => {
  res.json({ status: 'ok' });
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
// A clean exit on the bench's SIGTERM, so that `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => server.close(() => process.exit(0)));
