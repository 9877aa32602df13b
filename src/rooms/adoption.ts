import type { RoomLedger } from './ledger.js';
import { isPersistent } from './persistent.js';
import type { RoomProvider } from './providers/provider.js';

export interface AdoptionOptions {
  provider: RoomProvider;
  ledger: RoomLedger;
  persistentPrefixes: readonly string[];
  /** Names this gateway (or the service it replaces) gives its rooms; a VMR named otherwise was made by hand. */
  names: RegExp;
  /** Only count what would be adopted. */
  dryRun: boolean;
}

export interface AdoptionReport {
  /** VMRs on the provider. */
  seen: number;
  adopted: number;
  alreadyKnown: number;
  /** Persistent rooms, and names that are not the gateway's: never adopted, never deleted. */
  notOurs: number;
}

const PAGE = 500;

/**
 * The upgrade step for rooms created before the ledger existed (by an
 * earlier release, or by the service this gateway replaces): every VMR on
 * the provider named as the gateway names rooms, and not persistent, is
 * recorded — pooled if the pool holds it, else handed out now, so that it is
 * deleted after ROOM_UNUSED_TTL_SECONDS unless a conference starts in it.
 */
export async function adoptRooms(options: AdoptionOptions): Promise<AdoptionReport> {
  const report: AdoptionReport = { seen: 0, adopted: 0, alreadyKnown: 0, notOurs: 0 };
  for (let offset = 0; ; offset += PAGE) {
    const page = await options.provider.list({ namePrefix: undefined, limit: PAGE, offset });
    for (const { name } of page.rooms) await consider(name, options, report);
    report.seen += page.rooms.length;
    if (page.rooms.length < PAGE) return report;
  }
}

async function consider(name: string, { ledger, names, persistentPrefixes, dryRun }: AdoptionOptions, report: AdoptionReport): Promise<void> {
  if (!names.test(name) || isPersistent(name, persistentPrefixes)) report.notOurs += 1;
  else if ((await ledger.stateOf(name)) !== undefined) report.alreadyKnown += 1;
  else {
    if (!dryRun) await ledger.adopt(name);
    report.adopted += 1;
  }
}
