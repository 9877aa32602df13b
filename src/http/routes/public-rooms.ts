import type { RequestHandler } from 'express';
import { deadlineOf, type RequestDeadline } from '../deadline.js';
import { resource, type Routes } from '../middleware.js';
import { validate } from '../../validation.js';
import { roomNameParams } from './room-schemas.js';
import type { RoomService } from '../../rooms/service.js';

export interface PublicRoomRoutesOptions {
  service: RoomService;
  /** CORS for the agent widget, before authentication so that preflights need none. */
  cors: RequestHandler;
  authenticate: RequestHandler;
  /** Each agent's own request limit, once authenticated. */
  limitAgent: RequestHandler;
  deadline: RequestDeadline;
}

/** `GET /public/room/{room_name}`: the agent's widget looks the room up; the agent is the host, so the PIN is included. */
export function publicRoomRoutes({ service, cors, authenticate, limitAgent, deadline }: PublicRoomRoutesOptions): Routes {
  return (router) => {
    router.use('/public/room', cors);
    resource(router, '/public/room/:room_name', {
      get: [
        authenticate,
        limitAgent,
        async (req, res) => {
          const { room_name } = validate(roomNameParams, req.params, 'path');
          res.setHeader('Cache-Control', 'no-store');
          res.json(await service.getForAgent(room_name, deadlineOf(res, deadline)));
        },
      ],
    });
  };
}
