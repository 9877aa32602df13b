import { type Clock, iso } from '../clock.js';
import { resource, type Routes } from './middleware.js';

export type ReadinessCheck = () => Promise<boolean> | boolean;

const CHECK_TIMEOUT_MS = 2000;

/** Where the probes answer; requests to them are not logged at info. */
export const PROBE_PATHS = { health: '/public/health', ready: '/public/ready' } as const;

/** Liveness (cheap, touches nothing) and readiness (every named check passes) — docs/contract.md §2. */
export function probeRoutes(clock: Clock, checks: Record<string, ReadinessCheck>): Routes {
  return (router) => {
    resource(router, PROBE_PATHS.health, {
      get: [(_req, res) => void res.json({ status: 'alive', timestamp: iso(clock.now()) })],
    });
    resource(router, PROBE_PATHS.ready, {
      get: [
        async (_req, res) => {
          const names = Object.keys(checks);
          const outcomes = await Promise.all(names.map((name) => runCheck(checks[name] as ReadinessCheck)));
          const results = Object.fromEntries(names.map((name, i) => [name, outcomes[i] ? 'ok' : 'fail']));
          const ready = outcomes.every(Boolean);
          res.status(ready ? 200 : 503).setHeader('Cache-Control', 'no-store');
          res.json({ status: ready ? 'ready' : 'not_ready', checks: results });
        },
      ],
    });
  };
}

async function runCheck(check: ReadinessCheck): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<boolean>((resolve) => {
    timer = setTimeout(() => resolve(false), CHECK_TIMEOUT_MS);
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch {
    return false;
  } finally {
    clearTimeout(timer);
  }
}
