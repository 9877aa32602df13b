import type { Request, RequestHandler } from 'express';
import { callerGone, deadlineOf, type RequestDeadline } from '../deadline.js';
import { requireRole } from '../authenticate.js';
import { jsonBody, resource, type Routes } from '../middleware.js';
import { HttpProblem, notFound } from '../problem.js';
import { noteRoom } from '../request-log.js';
import { InvalidInput, validate } from '../../validation.js';
import type { BulkJobs } from '../../rooms/bulk-jobs.js';
import {
  bulkCreateBody,
  bulkJobParams,
  createRoomBody,
  createRoomQuery,
  deleteRoomsQuery,
  getRoomQuery,
  listRoomsQuery,
  roomChangesBody,
  roomNameParams,
  UUI_DATA_REQUIRED,
} from './room-schemas.js';
import type { RoomService } from '../../rooms/service.js';

export interface RoomRoutesOptions {
  service: RoomService;
  bulkJobs: BulkJobs;
  /** Entra authentication for every private route. */
  authenticate: RequestHandler;
  bulkRole: string | undefined;
  bodyLimitBytes: number;
  deadline: RequestDeadline;
}

/** The private room routes of docs/contract.md §2. */
export function roomRoutes({ service, bulkJobs, authenticate, bulkRole, bodyLimitBytes, deadline }: RoomRoutesOptions): Routes {
  return (router) => {
    const body = jsonBody(bodyLimitBytes);
    const bulk = requireRole(bulkRole);

    const create: RequestHandler = async (req, res) => {
      const { uuiData, from } = uuiDataOf(req);
      if (req.method === 'GET') res.setHeader('Deprecation', 'true');
      const gone = callerGone(res);
      const room = await service.createForSession(uuiData, from, { caller: callerId(req), requestId: res.locals.requestId as string, signal: gone, deadline: deadline(gone) });
      noteRoom(res, room.name);
      res.json(room);
    };
    resource(router, '/room/create', { post: [authenticate, ...body, create], get: [authenticate, create] });

    resource(router, '/room/:room_name', {
      get: [
        authenticate,
        async (req, res) => {
          const { room_name } = validate(roomNameParams, req.params, 'path');
          const { constrained_attributes } = validate(getRoomQuery, req.query, 'query');
          res.json(await service.get(room_name, constrained_attributes, deadlineOf(res, deadline)));
        },
      ],
      patch: [
        authenticate,
        ...body,
        async (req, res) => {
          const { room_name } = validate(roomNameParams, req.params, 'path');
          if (req.body === undefined) throw missingBody('a JSON object with the fields to change');
          await service.update(room_name, validate(roomChangesBody, req.body, 'body'), deadlineOf(res, deadline));
          res.status(202).end();
        },
      ],
      delete: [
        authenticate,
        async (req, res) => {
          const { room_name } = validate(roomNameParams, req.params, 'path');
          await service.delete(room_name, deadlineOf(res, deadline));
          res.status(204).end();
        },
      ],
    });

    resource(router, '/rooms', {
      get: [
        authenticate,
        async (req, res) => {
          const query = validate(listRoomsQuery, req.query, 'query');
          const listing = await service.list(query.name_prefix, query.limit, query.offset, query.constrained_attributes, deadlineOf(res, deadline));
          res.setHeader('X-Total-Count', String(listing.total));
          res.json(listing.rooms);
        },
      ],
      delete: [
        authenticate,
        bulk,
        async (req, res) => {
          const { name_prefix } = validate(deleteRoomsQuery, req.query, 'query');
          res.json({ deleted: await service.deleteByPrefix(name_prefix, deadlineOf(res, deadline)) });
        },
      ],
    });

    resource(router, '/rooms/bulk', {
      post: [
        authenticate,
        bulk,
        ...body,
        async (req, res) => {
          if (req.body === undefined) throw missingBody('{"count": n} with n from 1 to 500');
          const { count } = validate(bulkCreateBody, req.body, 'body');
          const job = await bulkJobs.submit(count);
          res.status(202).setHeader('Location', `/rooms/bulk/${job.job_id}`);
          res.json({ job_id: job.job_id, count: job.count });
        },
      ],
    });

    resource(router, '/rooms/bulk/:job_id', {
      get: [
        authenticate,
        async (req, res) => {
          const { job_id } = validate(bulkJobParams, req.params, 'path');
          const job = await bulkJobs.find(job_id);
          if (job === undefined) throw notFound(`No bulk job ${job_id} exists.`);
          res.json(job);
        },
      ],
    });

  };
}

/**
 * `uuiData` from the query string, or from a JSON body when the query has
 * none, validated once where it came from; a body is checked even when the
 * query's value is used.
 */
function uuiDataOf(req: Request): { uuiData: string; from: 'query' | 'body' } {
  const fromBody = req.method === 'POST' ? validate(createRoomBody, req.body ?? {}, 'body').uuiData : undefined;
  const fromQuery = (req.query as Record<string, unknown>).uuiData;
  if (fromBody !== undefined && fromQuery === undefined) return { uuiData: fromBody, from: 'body' };
  if (fromQuery === undefined) throw noUuiData();
  return { uuiData: validate(createRoomQuery, req.query, 'query').uuiData, from: 'query' };
}

/** Neither the query nor the body has one: say both places it may be given. */
function noUuiData(): InvalidInput {
  return new InvalidInput(`Fix the request and send it again. ${UUI_DATA_REQUIRED}.`, [{ in: 'query', field: 'uuiData', message: UUI_DATA_REQUIRED }]);
}

/** The Entra calling application the room is handed out to. */
function callerId(req: Request): string {
  if (req.caller === undefined) throw new Error('room creation reached without an authenticated caller');
  return req.caller.id;
}

function missingBody(expected: string): HttpProblem {
  return new HttpProblem(400, 'invalid-request', 'Bad Request', `Send ${expected} as the JSON body.`, {
    errors: [{ in: 'body', field: '(whole)', message: 'a JSON body is required' }],
  });
}
