import type { Conference } from './conference.js';
import type { RoomLedger } from './ledger.js';
import { isPersistent } from './persistent.js';
import type { RoomProvider } from './providers/provider.js';

export interface AdoptionOptions {
  provider: RoomProvider;
  ledger: RoomLedger;
  persistentPrefixes: readonly string[];
  /** Names this gateway (or the service it replaces) gives its rooms; a VMR named otherwise was made by hand. */
  names: RegExp;
  /** ROOM_TAG_BASE_URL: a room of ours has no tag yet (pooled) or a session's tag under it. */
  tagBaseUrl: string;
  /** Only count what would be adopted. */
  dryRun: boolean;
}

export interface AdoptionReport {
  /** VMRs on the provider. */
  seen: number;
  adopted: number;
  alreadyKnown: number;
  /** Persistent rooms, and rooms named or tagged otherwise: never adopted, never deleted. */
  notOurs: number;
  /** The rooms adopted (or, in a dry run, that would be): for the operator to check. */
  rooms: string[];
}

const PAGE = 500;

/**
 * The upgrade step for rooms created before the ledger existed (by an
 * earlier release, or by the service this gateway replaces): every VMR on
 * the provider named as the gateway names rooms, not persistent, and without
 * a tag or with a session's tag under ROOM_TAG_BASE_URL, is
 * recorded — pooled if the pool holds it, else handed out now, so that it is
 * deleted after ROOM_UNUSED_TTL_SECONDS unless a conference starts in it.
 */
export async function adoptRooms(options: AdoptionOptions): Promise<AdoptionReport> {
  const report: AdoptionReport = { seen: 0, adopted: 0, alreadyKnown: 0, notOurs: 0, rooms: [] };
  for (let offset = 0; ; offset += PAGE) {
    const page = await options.provider.list({ namePrefix: undefined, limit: PAGE, offset });
    for (const room of page.rooms) await consider(room, options, report);
    report.seen += page.rooms.length;
    if (page.rooms.length < PAGE) return report;
  }
}

function ours({ name, tag }: Conference, { names, persistentPrefixes, tagBaseUrl }: AdoptionOptions): boolean {
  return names.test(name) && !isPersistent(name, persistentPrefixes) && (tag === '' || tag.startsWith(`${tagBaseUrl}/`));
}

async function consider(room: Conference, options: AdoptionOptions, report: AdoptionReport): Promise<void> {
  if (!ours(room, options)) report.notOurs += 1;
  else if ((await options.ledger.stateOf(room.name)) !== undefined) report.alreadyKnown += 1;
  else {
    if (!options.dryRun) await options.ledger.adopt(room.name);
    report.adopted += 1;
    report.rooms.push(room.name);
  }
}
