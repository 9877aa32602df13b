// Baseline (a): a bare Express 5 app serving the same JSON as GET /room/{room_name}.
import express from 'express';

const body = JSON.parse(process.env.ROOM_JSON);
const app = express();
app.get('/room/:room_name', (_req, res) => {
  res.json(body);
});
app.get('/public/room/:room_name', (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
