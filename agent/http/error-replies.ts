/**
 * The error bodies of the HTTP API. Every 4xx and 5xx in JSON carries a catalogue `code`
 * (agent/ERRORS.md) beside the fields it always had (`error`, `message`), so a client can act
 * on the code without parsing text. A 500 names only the request: its cause may hold paths,
 * SQL or a stack, which belong in the log, not in a body a browser or a script sees.
 */
import type { FastifyInstance, FastifyReply } from 'fastify';
import { z } from 'zod';
import { AgentError, ERRORS, type ErrorCode } from '../errors.ts';

/** What the error handler needs of a logger: the cause of a 500 goes here. */
export interface ErrorReplyLog {
  error(obj: object, msg: string): void;
}

/** `{ error, message, code }`: `error` is the short name clients already match on. */
export interface ErrorBody {
  error: string;
  message: string;
  code: ErrorCode;
  [extra: string]: unknown;
}

/** 404 for a machine (or any named thing) the agent does not know. */
export function sendNotFound(reply: FastifyReply, message: string): FastifyReply {
  return reply.code(404).send({ error: 'not_found', message, code: 'SFA_ERR_HTTP_NOT_FOUND' } satisfies ErrorBody);
}

/** The error's own catalogue code, when it has one (KpiQueryError, CalendarError, any AgentError). */
function catalogueCode(err: unknown): ErrorCode | undefined {
  const code = (err as { code?: unknown } | null)?.code;
  return typeof code === 'string' && Object.hasOwn(ERRORS, code) ? (code as ErrorCode) : undefined;
}

function codeOfStatus(status: number): ErrorCode {
  if (status === 401 || status === 403) return 'SFA_ERR_HTTP_UNAUTHORIZED';
  if (status === 404) return 'SFA_ERR_HTTP_NOT_FOUND';
  return 'SFA_ERR_HTTP_BAD_REQUEST';
}

/** Registers the error handler and the handler of unknown routes. */
export function registerErrorReplies(app: FastifyInstance, log: ErrorReplyLog): void {
  app.setErrorHandler(async (err, req, reply) => {
    if (err instanceof z.ZodError) {
      const issues = err.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
      const message = issues.map((i) => (i.path ? `${i.path}: ${i.message}` : i.message)).join('; ');
      return reply.code(400).send({ error: 'bad_request', message, code: 'SFA_ERR_HTTP_BAD_REQUEST', issues } satisfies ErrorBody);
    }
    const status = (err as { statusCode?: unknown }).statusCode;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      const message = err instanceof AgentError ? err.detail : (err as Error).message;
      return reply.code(status).send({ error: 'bad_request', message, code: catalogueCode(err) ?? codeOfStatus(status) } satisfies ErrorBody);
    }
    // a query cancelled at its deadline or refused by a full queue (agent/query-worker): retry later
    if (status === 503 && err instanceof AgentError) {
      return reply.code(503).header('retry-after', '5').send({ error: 'unavailable', message: err.detail, code: err.code } satisfies ErrorBody);
    }
    log.error({ err, reqId: req.id, method: req.method, url: req.url }, 'request failed');
    const body: ErrorBody = {
      error: 'internal',
      message: `the request failed: the agent's log has the cause (request ${req.id})`,
      code: catalogueCode(err) ?? 'SFA_ERR_HTTP_INTERNAL',
    };
    return reply.code(500).send(body);
  });

  // fastify's own 404 body, with the code added
  app.setNotFoundHandler(async (req, reply) =>
    reply.code(404).send({ message: `Route ${req.method}:${req.url} not found`, error: 'Not Found', statusCode: 404, code: 'SFA_ERR_HTTP_NOT_FOUND' } satisfies ErrorBody),
  );
}
