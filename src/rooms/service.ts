import type { Logger } from 'pino';
import { type Deadline, notAfter } from '../deadline.js';
import { InvalidInput } from '../validation.js';
import { type Conference, type ConstrainedConference, type RoomChanges, RoomChangeConflict, constrain, pinConflict } from './conference.js';
import { newRoom } from './new-room.js';
import type { RoomLedger } from './ledger.js';
import { isPersistent } from './persistent.js';
import type { PoolClaim, RoomPool } from './pool.js';
import type { RoomReadCache } from './room-cache.js';
import { ProviderUnavailable, RoomNotFound, type RoomProvider } from './providers/provider.js';
import type { RoomRetirement } from './retirement/retirement.js';
import type { RoomSettings } from './settings.js';
import { MAX_TAG_LENGTH, maxUuiDataForTag, tagFromUuiData } from './tag.js';

export interface RoomServiceOptions {
  provider: RoomProvider;
  /** The same VMRs for agent lookups, which spend a bounded share of the Pexip budget. */
  agentProvider: RoomProvider;
  pool: RoomPool;
  ledger: RoomLedger;
  cache: RoomReadCache;
  retirement: RoomRetirement;
  rooms: RoomSettings;
  logger: Logger;
}

/** Who a room is handed out to, and whether they are still there to receive it. */
export interface HandOut {
  /** The calling application (Entra `azp` / `appid`). */
  caller: string;
  requestId: string;
  /** Aborted when the caller has gone before its answer was written. */
  signal: AbortSignal;
  /** The request's deadline: its Pexip calls stop there, or when the caller has gone. */
  deadline: Deadline;
}

export interface RoomListing {
  rooms: (Conference | ConstrainedConference)[];
  total: number;
}

const MAX_CLAIM_ATTEMPTS = 5;
const DELETE_PAGE = 500;

/** Room operations behind the private routes (docs/contract.md §2, §3). */
export class RoomService {
  /** Rooms created inline because the pool was empty (docs/contract.md §3: logged and counted). */
  inlineCreations = 0;

  constructor(private readonly options: RoomServiceOptions) {}

  /**
   * Hands out a pooled room tagged for the verification session, or creates
   * one when the pool is empty. `from`: where the caller sent uuiData, for the
   * error that names it. A room whose caller left before the answer goes back to the pool.
   */
  async createForSession(uuiData: string, from: 'query' | 'body', handOut: HandOut): Promise<ConstrainedConference> {
    const tag = this.tagFor(uuiData, from);
    try {
      const room = await this.handOut(tag, handOut.caller, handOut.deadline);
      if (handOut.signal.aborted) await this.takeBack(room, handOut);
      return constrain(room, false);
    } finally {
      this.refillInBackground();
    }
  }

  async get(name: string, constrained: boolean, deadline: Deadline): Promise<Conference | ConstrainedConference> {
    const conference = await this.read(name, this.options.provider, deadline);
    return constrained ? constrain(conference, true) : conference;
  }

  /**
   * An agent's lookup: only a room handed out to a verification session, or a
   * persistent one (made by hand), and never a Pexip request for a name the
   * ledger does not know — agents cannot spend the budget on guesses.
   */
  async getForAgent(name: string, deadline: Deadline): Promise<ConstrainedConference> {
    if (!isPersistent(name, this.options.rooms.persistentPrefixes) && !(await this.inSession(name))) throw new RoomNotFound(name);
    return constrain(await this.read(name, this.options.agentProvider, deadline), true);
  }

  /** Only a room in session is remembered as such: one not yet handed out may be at any moment. */
  private async inSession(name: string): Promise<boolean> {
    if (this.options.cache.inSession(name)) return true;
    const inSession = await this.options.ledger.inSession(name);
    if (inSession) this.options.cache.markInSession(name);
    return inSession;
  }

  async update(name: string, changes: RoomChanges, deadline: Deadline): Promise<void> {
    const conference = await this.find(name, this.options.provider, deadline);
    const conflict = pinConflict({ ...conference, ...changes });
    if (conflict) throw new RoomChangeConflict(conflict.field, conflict.message);
    await this.options.provider.update(conference.id, changes, deadline);
    this.options.cache.forget([name]);
  }

  async delete(name: string, deadline: Deadline): Promise<void> {
    await this.options.retirement.retire(await this.find(name, this.options.provider, deadline), deadline);
  }

  async list(namePrefix: string | undefined, limit: number, offset: number, constrained: boolean, deadline: Deadline): Promise<RoomListing> {
    const page = await this.options.provider.list({ namePrefix, limit, offset }, deadline);
    return { rooms: page.rooms.map((room) => (constrained ? constrain(room, true) : room)), total: page.total };
  }

  /**
   * Deletes every room whose name starts with `prefix`, by object id, never
   * through a list URL. Persistent rooms survive unless the prefix names them.
   */
  async deleteByPrefix(prefix: string, deadline: Deadline): Promise<number> {
    const doomed = (await this.allWithPrefix(prefix, deadline)).filter((room) => !isPersistent(room.name, this.options.rooms.persistentPrefixes, prefix));
    let deleted = 0;
    for (const room of doomed) {
      await this.options.retirement.retire(room, deadline);
      deleted += 1;
    }
    this.options.logger.info({ prefix, deleted }, 'rooms deleted by prefix');
    return deleted;
  }

  private async allWithPrefix(prefix: string, deadline: Deadline): Promise<Conference[]> {
    const rooms: Conference[] = [];
    for (let offset = 0; ; offset += DELETE_PAGE) {
      const page = await this.options.provider.list({ namePrefix: prefix, limit: DELETE_PAGE, offset }, deadline);
      rooms.push(...page.rooms);
      if (page.rooms.length < DELETE_PAGE) return rooms;
    }
  }

  private async read(name: string, provider: RoomProvider, deadline: Deadline): Promise<Conference> {
    let conference = this.options.cache.get(name);
    if (conference === undefined) {
      conference = await this.find(name, provider, deadline);
      this.options.cache.set(conference);
    }
    return conference;
  }

  /**
   * A pooled room, else one created inline; if reconciliation took the inline
   * room into the pool while Pexip was slow to answer, it is claimed from there.
   */
  private async handOut(tag: string, caller: string, deadline: Deadline): Promise<Conference> {
    const pooled = await this.fromPool(tag, caller, deadline);
    if (pooled) return pooled;
    const created = await this.createInline(tag, caller, deadline);
    if (created) return created;
    const reclaimed = await this.fromPool(tag, caller, deadline);
    if (reclaimed) return reclaimed;
    throw new ProviderUnavailable('unavailable', 1, 'The room created for this request went to the pool while Pexip was slow to answer, and another request took it; retry.');
  }

  private async fromPool(tag: string, caller: string, deadline: Deadline): Promise<Conference | undefined> {
    for (let attempt = 0; attempt < MAX_CLAIM_ATTEMPTS; attempt += 1) {
      const claim = await this.options.pool.claim();
      if (claim === undefined) return undefined;
      const handedOut = await this.tagClaimedRoom(claim, tag, caller, deadline);
      if (handedOut) return handedOut;
    }
    return undefined;
  }

  private async takeBack(room: Conference, { caller, requestId }: HandOut): Promise<void> {
    await this.options.pool.takeBack(room);
    this.options.logger.warn({ room: room.name, caller, requestId }, 'the caller left before its answer: the room went back to the pool');
  }

  /**
   * Tags a claimed room and takes it out of the pool. The tag is only sent
   * while the claim is young (no attempt or retry after half its lease), so
   * it cannot land after the lease expired and the room went to someone
   * else. A tag that failed may still land late: the room stays claimed until
   * its lease expires rather than going straight back to the pool.
   */
  private async tagClaimedRoom(claim: PoolClaim, tag: string, caller: string, deadline: Deadline): Promise<Conference | undefined> {
    const { pool, provider } = this.options;
    if (!pool.isFresh(claim)) {
      await pool.release(claim);
      return undefined;
    }
    try {
      await provider.update(claim.conference.id, { tag }, notAfter(deadline, pool.freshUntil(claim)));
    } catch (error) {
      if (error instanceof RoomNotFound) {
        await this.options.retirement.forget(claim.roomName);
        return undefined;
      }
      throw error;
    }
    this.options.cache.forget([claim.roomName]);
    if (!(await pool.complete(claim, caller))) return undefined;
    return { ...claim.conference, tag };
  }

  /**
   * Recorded in the ledger before Pexip is asked: if the answer is lost,
   * reconciliation finds the room. Undefined when reconciliation has already
   * put the room in the pool (the create outlived its claim lease).
   */
  private async createInline(tag: string, caller: string, deadline: Deadline): Promise<Conference | undefined> {
    const { ledger, provider, rooms } = this.options;
    const room = newRoom(rooms, tag);
    await ledger.recordCreation(room.name, 'inline', rooms.claimLeaseMs);
    let conference: Conference;
    try {
      conference = await provider.create(room, deadline);
    } catch (error) {
      await ledger.outcomeUnknown(room.name);
      throw error;
    }
    if (!(await ledger.handedOut(conference.name, caller, ['creating']))) return undefined;
    this.inlineCreations += 1;
    this.options.logger.warn({ room: conference.name }, 'pool empty: room created inline');
    return conference;
  }

  private async find(name: string, provider: RoomProvider, deadline: Deadline): Promise<Conference> {
    const conference = await provider.findByName(name, deadline);
    if (conference === undefined) throw new RoomNotFound(name);
    return conference;
  }

  private tagFor(uuiData: string, from: 'query' | 'body'): string {
    const { tagBaseUrl } = this.options.rooms;
    const tag = tagFromUuiData(uuiData, tagBaseUrl);
    if (tag.length > MAX_TAG_LENGTH) {
      const fits = maxUuiDataForTag(tagBaseUrl);
      throw new InvalidInput(`uuiData is too long for a room tag: with this deployment's tag base URL at most ${fits} hex characters fit.`, [
        { in: from, field: 'uuiData', message: `at most ${fits} hex characters` },
      ]);
    }
    return tag;
  }

  /** Starts once the reply has been written: the embedded store would otherwise run the refill's first statements ahead of it. */
  private refillInBackground(): void {
    setImmediate(() => {
      this.options.pool.refill().catch((error: unknown) => {
        this.options.logger.warn({ err: error }, 'pool refill failed; the maintenance loop will retry');
      });
    });
  }
}
