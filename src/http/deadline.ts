import type { Response } from 'express';
import type { Deadline } from '../deadline.js';

/** An incoming request's deadline, also ended by `callerGone` (REQUEST_DEADLINE_MS from its handler's start). */
export type RequestDeadline = (callerGone: AbortSignal) => Deadline;

/** Aborted when the connection closes before the response has been written: the caller will never see its answer. */
export function callerGone(res: Response): AbortSignal {
  const lost = new AbortController();
  // It may have closed already, while the request was being authenticated.
  if (res.req.socket.destroyed) lost.abort();
  res.once('close', () => {
    if (!res.writableFinished) lost.abort();
  });
  return lost.signal;
}

/** The deadline of the request `res` answers: its upstream work stops at it, or when the caller leaves. */
export function deadlineOf(res: Response, deadline: RequestDeadline): Deadline {
  return deadline(callerGone(res));
}
