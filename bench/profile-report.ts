import fs from 'node:fs';
import path from 'node:path';

/** The parts of a V8 CPU profile (`node --cpu-prof`) the report reads. */
interface CpuProfile {
  nodes: { id: number; callFrame: { functionName: string; url: string } }[];
  samples: number[];
  timeDeltas: number[];
}

export interface Profiled {
  label: string;
  /** The process whose profile (`CPU.*.<pid>.*.cpuprofile`) is read. */
  pid: number;
  /** Requests it served while profiled (measured and warm-up), to give CPU time per request. */
  requests: number;
}

/**
 * CPU time per request by where it was spent (a package, a file of ours, a
 * Node.js module, V8's own work), for the gateway and a baseline side by side
 * and sorted by the difference: what the gateway spends that the baseline
 * does not. Idle time is left out; start-up is in, spread over the requests.
 */
export function perRequestReport(dir: string, ours: Profiled, baseline: Profiled, rows = 25): string {
  const a = busyByPlace(readProfile(dir, ours.pid));
  const b = busyByPlace(readProfile(dir, baseline.pid));
  const perRequest = (micros: number | undefined, of: Profiled) => (micros ?? 0) / of.requests;
  const places = [...new Set([...a.byPlace.keys(), ...b.byPlace.keys()])]
    .map((place) => ({ place, ours: perRequest(a.byPlace.get(place), ours), base: perRequest(b.byPlace.get(place), baseline) }))
    .sort((x, y) => y.ours - y.base - (x.ours - x.base));
  const us = (n: number) => n.toFixed(1);
  return [
    `| CPU µs per request | ${ours.label} | ${baseline.label} | difference |`,
    '|---|---|---|---|',
    `| **all (not idle)** | ${us(a.busy / ours.requests)} | ${us(b.busy / baseline.requests)} | ${us(a.busy / ours.requests - b.busy / baseline.requests)} |`,
    ...places.slice(0, rows).map(({ place, ours: x, base: y }) => `| ${place} | ${us(x)} | ${us(y)} | ${us(x - y)} |`),
  ].join('\n');
}

function readProfile(dir: string, pid: number): CpuProfile {
  const file = fs.readdirSync(dir).find((name) => name.endsWith('.cpuprofile') && name.split('.')[3] === String(pid));
  if (file === undefined) throw new Error(`no CPU profile of process ${pid} in ${dir}`);
  return JSON.parse(fs.readFileSync(path.join(dir, file), 'utf8')) as CpuProfile;
}

function busyByPlace(profile: CpuProfile): { busy: number; byPlace: Map<string, number> } {
  const frames = new Map(profile.nodes.map((node) => [node.id, node.callFrame]));
  const byPlace = new Map<string, number>();
  let busy = 0;
  profile.samples.forEach((id, i) => {
    const frame = frames.get(id);
    const micros = profile.timeDeltas[i + 1] ?? 0;
    if (frame === undefined || frame.functionName === '(idle)') return;
    busy += micros;
    const place = placeOf(frame);
    byPlace.set(place, (byPlace.get(place) ?? 0) + micros);
  });
  return { busy, byPlace };
}

/** `pkg:router`, `ours:http/middleware.js`, `node:_http_outgoing`, or V8's own entries such as `(garbage collector)`. */
function placeOf({ functionName, url }: { functionName: string; url: string }): string {
  if (url === '') return functionName.startsWith('(') ? functionName : `native:${functionName.slice(0, 40)}`;
  const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1];
  if (pkg !== undefined) return `pkg:${pkg}`;
  if (url.includes('/dist/')) return `ours:${url.split('/dist/')[1]}`;
  if (url.startsWith('node:')) return url;
  return url.replace(/^file:\/\/.*\/(bench\/)/, '$1');
}
