// The workspace activity API of seed 002 over the activity extension:
//
//   GET /api/v1/workspaces/:ws_id/activity
//   GET /api/v1/workspaces/:ws_id/issues/:issue_id/activity
//
// Query parameters: limit (1..200, default 50), offset (>= 0, default 0),
// cursor (the next_cursor of the previous page: keyset paging, the fast
// path), actor_type (user or agent). Authorization: Bearer <token>; a token
// opens one workspace.
//
// Every request is one read-only transaction on a pooled connection of the
// API's database role:
//
//   BEGIN READ ONLY;
//   SELECT api.authenticate($token);      -- sets api.token for this transaction, returns its workspace
//   [SELECT EXISTS (... api.issues ...)]  -- the issue endpoint: is the issue the workspace's?
//   SELECT ... FROM activity.page(...) | activity.workspace_activity(...) | activity.issue_activity(...);
//   COMMIT;
//
// The role is subject to row-level security (schema.sql): the database itself
// shows it only the rows of the token's workspace, whatever SQL it runs.
//
// Which function serves a page:
//   cursor given           -> activity.page(after => cursor): keyset, constant cost at any depth
//   no cursor, offset = 0  -> activity.page(): the first page, with its next_cursor
//   no cursor, offset > 0  -> activity.workspace_activity() / issue_activity(): OFFSET, costs what it skips;
//                             next_cursor is null (those functions return no cursor)
// All three list the same rows in the same order: activities of users and
// agents (or of the one actor_type asked for), newest first by (occurred_at, id).
'use strict';

const Fastify = require('fastify');

const MAX_LIMIT = 200;
const DEFAULT_LIMIT = 50;
const MAX_OFFSET = 2147483647; // the functions' int argument
const MAX_CURSOR_LENGTH = 256; // a cursor is 51 characters (46 for format 1)
const MAX_TOKEN_LENGTH = 512;
const ACTOR_TYPES = new Set(['user', 'agent']);
const ALL_ACTORS = ['user', 'agent']; // seed 002's actors; the system's activities are not listed

// SQLSTATEs that mean "the request's parameters are wrong": invalid parameter
// value (limit, offset, actor_type, a cursor of another feed), invalid text
// representation (a malformed, truncated or edited cursor), null value not
// allowed, numeric value out of range, and the rest of class 22 (data exception)
const CLIENT_SQLSTATE_CLASS = '22';
// SQLSTATEs that mean "try again later": statement timeout or cancel, too many
// connections, the server shutting down or unreachable
const UNAVAILABLE_SQLSTATES = new Set(['57014', '53300', '57P01', '57P02', '57P03', '08000', '08001', '08003', '08006']);

// Seed 002's 8 fields, built by PostgreSQL: ids as text, details the metadata
// as it is stored (jsonb, not parsed and re-serialized by JavaScript: no
// precision lost on large numbers), created_at ISO-8601 in UTC with
// microseconds, always 6 digits (PostgreSQL's resolution; fixed width, so the
// strings sort as the instants do). (The colons are quoted literals, ":",
// so that pgbench, which bench/api.sh feeds these statements, does not take
// :MI for a variable.)
const CREATED_AT = `to_char(%s AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24":"MI":"SS.US"Z"')`;
const DOC_FROM_PAGE = `LATERAL (SELECT p.id, p.workspace_id,
                   CASE WHEN p.subject_type = 'issue' THEN p.subject_id END AS issue_id,
                   p.actor_type, p.initiator_id AS actor_id, p.type AS action, p.metadata AS details,
                   ${CREATED_AT.replace('%s', 'p.occurred_at')} AS created_at) d`;
const DOC_FROM_SEED = `LATERAL (SELECT a.id, a.workspace_id, a.issue_id, a.actor_type, a.actor_id, a.action, a.details,
                   ${CREATED_AT.replace('%s', 'a.created_at')} AS created_at) d`;

const SQL = {
  authenticate: {
    name: 'workspace_api_authenticate',
    text: 'SELECT api.authenticate($1) AS workspace_id',
  },
  issueExists: {
    name: 'workspace_api_issue_exists',
    text: 'SELECT EXISTS (SELECT 1 FROM api.issues i WHERE i.workspace_id = $1 AND i.id = $2) AS found',
  },
  // subject_type and subject_id both NULL: the workspace's feed; 'issue' and
  // the issue's id: the issue's feed
  page: {
    name: 'workspace_api_page',
    text: `SELECT row_to_json(d)::text AS doc, p.cursor::text AS cursor, p.has_more
           FROM activity.page($1, after => $2::activity.cursor, "limit" => $3,
                              subject_type => $4, subject_id => $5, actor_types => $6::text[])
                WITH ORDINALITY p,
                ${DOC_FROM_PAGE}
           ORDER BY p.ordinality`,
  },
  workspaceOffset: {
    name: 'workspace_api_workspace_offset',
    text: `SELECT row_to_json(d)::text AS doc
           FROM activity.workspace_activity($1, "limit" => $2, "offset" => $3, actor_type => $4)
                WITH ORDINALITY a,
                ${DOC_FROM_SEED}
           ORDER BY a.ordinality`,
  },
  issueOffset: {
    name: 'workspace_api_issue_offset',
    text: `SELECT row_to_json(d)::text AS doc
           FROM activity.issue_activity($1, $2, "limit" => $3, "offset" => $4, actor_type => $5)
                WITH ORDINALITY a,
                ${DOC_FROM_SEED}
           ORDER BY a.ordinality`,
  },
};

class ApiError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}
const badRequest = (message) => new ApiError(400, 'invalid_parameter', message);
const notFound = (what) => new ApiError(404, 'not_found', `${what} not found`);

// One query parameter as a single string (a repeated parameter is refused).
function single(query, name) {
  const value = query[name];
  if (Array.isArray(value)) throw badRequest(`${name} must be given once`);
  return value;
}

function integerParam(query, name, fallback, min, max) {
  const text = single(query, name);
  if (text === undefined || text === '') return fallback;
  if (!/^[0-9]{1,10}$/.test(text)) throw badRequest(`${name} must be an integer between ${min} and ${max}, not "${text.slice(0, 32)}"`);
  const value = Number(text);
  if (value < min || value > max) throw badRequest(`${name} must be an integer between ${min} and ${max}, not ${value}`);
  return value;
}

// The query parameters, checked before any SQL runs; the database checks
// them again (and the cursor's integrity and feed).
function parseQuery(query) {
  const limit = integerParam(query, 'limit', DEFAULT_LIMIT, 1, MAX_LIMIT);
  const offset = integerParam(query, 'offset', 0, 0, MAX_OFFSET);
  let cursor = single(query, 'cursor');
  if (cursor === '') cursor = undefined;
  if (cursor !== undefined && cursor.length > MAX_CURSOR_LENGTH) throw badRequest('cursor is not a cursor of this API');
  if (cursor !== undefined && offset !== 0) throw badRequest('cursor and offset cannot be combined: a cursor already says where the page starts');
  const actorType = single(query, 'actor_type');
  if (actorType !== undefined && !ACTOR_TYPES.has(actorType)) {
    throw badRequest(`actor_type must be user or agent, not "${String(actorType).slice(0, 32)}"`);
  }
  return { limit, offset, cursor, actorType };
}

// The bearer token of the Authorization header, or an ApiError 401.
function bearerToken(request) {
  const header = request.headers.authorization;
  if (header === undefined) throw new ApiError(401, 'unauthorized', 'an Authorization: Bearer <token> header is required');
  const match = /^Bearer +([\x21-\x7e]+) *$/i.exec(header);
  if (!match || match[1].length > MAX_TOKEN_LENGTH) throw new ApiError(401, 'unauthorized', 'the Authorization header must be "Bearer <token>"');
  return match[1];
}

function unauthorized() {
  return new ApiError(401, 'unauthorized', 'the token is not valid');
}

// Runs fn(client) in a read-only transaction on a pooled connection; a
// connection whose state is unknown after an error is discarded, not reused.
async function inTransaction(pool, fn) {
  const client = await pool.connect();
  let broken = null;
  try {
    await client.query('BEGIN READ ONLY');
    const result = await fn(client);
    await client.query('COMMIT');
    return result;
  } catch (err) {
    try {
      await client.query('ROLLBACK');
    } catch (rollbackError) {
      broken = rollbackError;
    }
    throw err;
  } finally {
    client.release(broken || undefined);
  }
}

// One page of a workspace's feed (issueId undefined) or an issue's.
async function activityPage(pool, request, wsId, issueId) {
  const token = bearerToken(request);
  let params;
  let paramError = null;
  try {
    params = parseQuery(request.query);
  } catch (err) {
    paramError = err;
  }
  return inTransaction(pool, async (client) => {
    const auth = await client.query(SQL.authenticate, [token]);
    const tokenWorkspace = auth.rows[0].workspace_id;
    if (tokenWorkspace === null) throw unauthorized();
    // another tenant's workspace and a workspace that does not exist answer
    // alike: the response says nothing about what exists
    if (tokenWorkspace !== wsId) throw notFound('workspace');
    if (paramError) throw paramError;
    if (issueId !== undefined) {
      const issue = await client.query(SQL.issueExists, [wsId, issueId]);
      if (!issue.rows[0].found) throw notFound('issue');
    }
    const { limit, offset, cursor, actorType } = params;
    let rows;
    let nextCursor = null;
    if (cursor !== undefined || offset === 0) {
      const result = await client.query(SQL.page, [
        wsId, cursor ?? null, limit,
        issueId === undefined ? null : 'issue', issueId ?? null,
        actorType === undefined ? ALL_ACTORS : [actorType],
      ]);
      rows = result.rows;
      const last = rows[rows.length - 1];
      if (last && last.has_more) nextCursor = last.cursor;
    } else if (issueId === undefined) {
      rows = (await client.query(SQL.workspaceOffset, [wsId, limit, offset, actorType ?? null])).rows;
    } else {
      rows = (await client.query(SQL.issueOffset, [wsId, issueId, limit, offset, actorType ?? null])).rows;
    }
    // the rows are JSON already: assembled, not parsed and serialized again
    let body = '{"data":[';
    for (let i = 0; i < rows.length; i++) body += (i ? ',' : '') + rows[i].doc;
    body += `],"limit":${limit},"offset":${offset},"next_cursor":${JSON.stringify(nextCursor)}}`;
    return body;
  });
}

// An error as the API's JSON, {"error": {"code", "message"}}: messages of
// the API's own checks and of the database's checks of the parameters (class
// 22) are shown; anything else is logged and answered without detail.
function errorResponse(err, log) {
  if (err instanceof ApiError) return [err.status, err.code, err.message];
  if (typeof err.code === 'string' && /^[0-9A-Z]{5}$/.test(err.code)) {
    if (err.code.startsWith(CLIENT_SQLSTATE_CLASS)) {
      const message = err.code === '22P02' && /cursor/.test(err.message)
        ? 'cursor is not a valid cursor (truncated, corrupted or edited)'
        : err.message;
      return [400, 'invalid_parameter', message];
    }
    if (UNAVAILABLE_SQLSTATES.has(err.code)) {
      log.warn({ sqlstate: err.code, err: err.message }, 'database unavailable or too slow');
      return [503, 'unavailable', 'the service is busy or unavailable; try again'];
    }
  }
  if (/timeout exceeded when trying to connect|Query read timeout|Connection terminated|ECONNREFUSED|ENOENT/.test(err.message || '')) {
    log.warn({ err: err.message }, 'database unavailable');
    return [503, 'unavailable', 'the service is busy or unavailable; try again'];
  }
  if (err.statusCode >= 400 && err.statusCode < 500) {
    // Fastify's own (a malformed URL, a header too large ...)
    return [err.statusCode, 'bad_request', 'the request is malformed'];
  }
  log.error({ err }, 'request failed');
  return [500, 'internal', 'internal error'];
}

function sendError(reply, status, code, message) {
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="workspace-api"');
  if (status === 503) reply.header('retry-after', '1');
  return reply.code(status).type('application/json; charset=utf-8').send(JSON.stringify({ error: { code, message } }));
}

// The Fastify application on a pg.Pool; options: logger (pino options or false).
function buildApp({ pool, logger = false, logRequests = false }) {
  const app = Fastify({
    logger,
    logController: new Fastify.LogController({ disableRequestLogging: !logRequests }),
    routerOptions: { maxParamLength: 1024, ignoreTrailingSlash: true },
  });

  app.get('/api/v1/workspaces/:ws_id/activity', async (request, reply) => {
    const body = await activityPage(pool, request, request.params.ws_id, undefined);
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
  });
  app.get('/api/v1/workspaces/:ws_id/issues/:issue_id/activity', async (request, reply) => {
    const body = await activityPage(pool, request, request.params.ws_id, request.params.issue_id);
    return reply.header('cache-control', 'no-store').type('application/json; charset=utf-8').send(body);
  });

  // Once close() is called, each response under way closes its connection:
  // a keep-alive connection would otherwise hold the server open after them.
  let closing = false;
  app.addHook('preClose', (done) => { closing = true; done(); });
  app.addHook('onSend', (request, reply, payload, done) => {
    if (closing) reply.header('connection', 'close');
    done(null, payload);
  });

  app.setNotFoundHandler((request, reply) => sendError(reply, 404, 'not_found', 'no such endpoint'));
  app.setErrorHandler((err, request, reply) => {
    const [status, code, message] = errorResponse(err, request.log);
    return sendError(reply, status, code, message);
  });
  return app;
}

module.exports = { buildApp, parseQuery, SQL, MAX_LIMIT, DEFAULT_LIMIT };
