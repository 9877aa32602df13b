import express from 'express';
import passport from 'passport';
import { BasicStrategy } from 'passport-http';
import request from 'supertest';
import { startTestGateway } from '../support/gateway.js';

/**
 * Why the event sink keeps its own Basic parser (src/auth/event-sink-strategy.ts)
 * instead of passport-http's BasicStrategy (README, "Design card"): passport-http
 * 0.3.0 splits the decoded credentials at every ":" and takes the second piece as
 * the password (lib/passport-http/strategies/basic.js; jaredhanson/passport-http#20,
 * open since 2014). RFC 7617 §2 lets a password contain ":", and the sink's
 * passwords may. When these expectations fail, passport-http has been fixed:
 * its BasicStrategy can then take the parser's place.
 */
const basic = (user: string, password: string) => `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`;

/** An app guarded by passport-http's BasicStrategy that knows one user, `pexip`, with `password`; `given` records what its verify callback received. */
function basicStrategyApp(password: string) {
  const given: string[] = [];
  const authenticator = new passport.Passport();
  authenticator.use(
    new BasicStrategy((user, sent, done) => {
      given.push(sent);
      done(null, user === 'pexip' && sent === password ? { id: user } : false);
    }),
  );
  const app = express();
  app.get('/', authenticator.authenticate('basic', { session: false }), (_req, res) => {
    res.send('in');
  });
  return { app, given };
}

test('passport-http: the right password containing ":" reaches verify cut at its second colon, and is refused', async () => {
  const { app, given } = basicStrategyApp('sink:pass:word-2026');
  const res = await request(app).get('/').set('Authorization', basic('pexip', 'sink:pass:word-2026'));
  expect(given).toEqual(['sink']);
  expect(res.status).toBe(401);
});

test('passport-http: a wrong password made of the right one, ":" and anything is accepted', async () => {
  const { app } = basicStrategyApp('local-sink-password');
  const res = await request(app).get('/').set('Authorization', basic('pexip', 'local-sink-password:anything'));
  expect(res.status).toBe(200);
});

test('the gateway\'s event sink refuses that wrong password (and accepts the right one containing ":")', async () => {
  const gw = await startTestGateway({ env: { EVENT_SINK_PASSWORD: 'local-sink-password', EVENT_SINK_PASSWORD_NEXT: 'sink:pass:word-2026' } });
  try {
    let seq = 0;
    const sink = (authorization: string) =>
      gw.http.post('/public/event_sink').set('Authorization', authorization).send({ node: 'n', seq: (seq += 1), version: 2, time: gw.clock.now() / 1000, event: 'eventsink_started', data: {} });
    expect((await sink(basic('pexip', 'local-sink-password:anything'))).status).toBe(401);
    expect((await sink(basic('pexip', 'sink:pass:word-2026'))).status).toBe(200);
  } finally {
    await gw.close();
  }
});
