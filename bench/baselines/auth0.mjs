// Baseline (b): the same JSON behind auth0's express-oauth2-jwt-bearer, configured for the same tokens.
import express from 'express';
import { auth } from 'express-oauth2-jwt-bearer';

const body = JSON.parse(process.env.ROOM_JSON);
const app = express();
app.use(auth({ issuer: process.env.ISSUER, audience: process.env.AUDIENCE, jwksUri: process.env.JWKS_URI, tokenSigningAlg: 'RS256' }));
app.get('/room/:room_name', (_req, res) => {
  res.json(body);
});
const server = app.listen(0, '127.0.0.1', () => process.stdout.write(`${server.address().port}\n`));
// A clean exit on the bench's SIGTERM, so that `node --cpu-prof` writes its profile.
process.once('SIGTERM', () => server.close(() => process.exit(0)));
