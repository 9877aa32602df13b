import type { RequestHandler } from 'express';
import { duplicateKeysOf, jsonBody, resource, type Routes } from '../middleware.js';
import { InvalidInput } from '../../validation.js';
import { readEnvelope, REPEATED_KEYS_READ } from '../../events/envelope.js';
import type { EventSink } from '../../events/sink.js';

export interface EventRoutesOptions {
  sink: EventSink;
  authenticate: RequestHandler;
  bodyLimitBytes: number;
}

/** `POST /public/event_sink`: Pexip's event envelopes, single or `eventsink_bulk` (docs/contract.md §4). */
export function eventRoutes({ sink, authenticate, bodyLimitBytes }: EventRoutesOptions): Routes {
  return (router) => {
    resource(router, '/public/event_sink', {
      post: [
        authenticate,
        ...jsonBody(bodyLimitBytes, { reportDuplicateKeys: REPEATED_KEYS_READ }),
        async (req, res) => {
          if (req.body === undefined) {
            throw new InvalidInput('Send a Pexip event envelope as the JSON body.', [{ in: 'body', field: '(whole)', message: 'a JSON body is required' }]);
          }
          res.json({ status: 'ok', ...(await sink.accept(readEnvelope(req.body, duplicateKeysOf(res)))) });
        },
      ],
    });
  };
}
