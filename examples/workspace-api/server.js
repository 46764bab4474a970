#!/usr/bin/env node
// The workspace activity API (seed 002): see app.js for what it serves and
// README.md for how to run it.
//
//   npm ci && npm start
//
// Configuration, all from the environment:
//   PGHOST, PGPORT, PGDATABASE, PGUSER, PGPASSWORD (libpq's variables), or
//   DATABASE_URL       the API's database role (schema.sql creates it)
//   API_DB_ROLE        optional: SET ROLE to this role at each connection
//                      (when the login role is another; weaker: see README)
//   PORT [8080]        HOST [127.0.0.1]
//   PG_POOL_MAX [10]   most connections open at once
//   PG_STATEMENT_TIMEOUT_MS [5000]   statement_timeout of every connection
//   PG_CONNECT_TIMEOUT_MS [5000]     longest wait for a pooled connection (then 503)
//   LOG_LEVEL [info]   LOG_REQUESTS [0]: 1 logs every request
//
// It refuses to start when row-level security does not apply to its role on
// activity.activities (a superuser, a BYPASSRLS role, the log's owner, or
// schema.sql not run): then nothing would keep a token inside its workspace.
// SIGTERM or SIGINT: stops accepting connections, finishes the requests
// under way, closes the pool, exits 0.
'use strict';

const pg = require('pg');
const { buildApp } = require('./app');

function integerEnv(env, name, fallback, min, max) {
  const text = env[name];
  if (text === undefined || text === '') return fallback;
  const value = Number(text);
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new Error(`${name} must be an integer between ${min} and ${max}, not "${text}"`);
  }
  return value;
}

function loadConfig(env = process.env) {
  const role = env.API_DB_ROLE || null;
  if (role !== null && !/^[a-z_][a-z0-9_$]{0,62}$/.test(role)) {
    throw new Error(`API_DB_ROLE must be a plain lower-case role name, not "${role}"`);
  }
  return {
    host: env.HOST || '127.0.0.1',
    port: integerEnv(env, 'PORT', 8080, 0, 65535),
    poolMax: integerEnv(env, 'PG_POOL_MAX', 10, 1, 1000),
    statementTimeoutMs: integerEnv(env, 'PG_STATEMENT_TIMEOUT_MS', 5000, 1, 3600000),
    connectTimeoutMs: integerEnv(env, 'PG_CONNECT_TIMEOUT_MS', 5000, 1, 3600000),
    databaseUrl: env.DATABASE_URL || undefined,
    role,
    logLevel: env.LOG_LEVEL || 'info',
    logRequests: env.LOG_REQUESTS === '1',
  };
}

function createPool(config) {
  const pool = new pg.Pool({
    connectionString: config.databaseUrl,   // else libpq's PG* variables
    max: config.poolMax,
    connectionTimeoutMillis: config.connectTimeoutMs,
    idleTimeoutMillis: 30000,
    statement_timeout: config.statementTimeoutMs,
    // a transaction is never left open: the server commits or rolls back
    // each one, and a server-side bound covers the unforeseen
    idle_in_transaction_session_timeout: config.statementTimeoutMs * 2,
    // a connection that hangs rather than breaks is noticed too
    query_timeout: config.statementTimeoutMs + 2000,
    application_name: 'workspace-api',
    options: config.role ? `-c role=${config.role}` : undefined,
  });
  return pool;
}

// The role must be subject to the row-level security of schema.sql.
async function checkDatabase(pool) {
  const { rows } = await pool.query(`
    SELECT current_user AS role, to_regclass('activity.activities') IS NOT NULL AS has_log,
           to_regprocedure('api.authenticate(text)') IS NOT NULL AS has_api
  `);
  const { role, has_log: hasLog, has_api: hasApi } = rows[0];
  if (!hasLog) throw new Error('activity.activities not found: CREATE EXTENSION activity first');
  if (!hasApi) throw new Error('api.authenticate(text) not found: run examples/workspace-api/schema.sql first');
  const rls = await pool.query(`SELECT row_security_active('activity.activities') AS active`);
  if (!rls.rows[0].active) {
    throw new Error(`row-level security does not apply to role "${role}" on activity.activities ` +
                    '(a superuser, a BYPASSRLS role, the owner of the log, or schema.sql not run): refusing to serve');
  }
  return role;
}

async function main() {
  const config = loadConfig();
  const pool = createPool(config);
  const app = buildApp({ pool, logger: { level: config.logLevel }, logRequests: config.logRequests });
  // an idle connection that breaks (the server restarted, the backend
  // terminated) is dropped from the pool; the next request opens another
  pool.on('error', (err) => app.log.warn({ err: err.message }, 'idle database connection lost'));

  // the database may be starting, or slow to accept a connection: retried
  // for up to 10 s; anything else (a role that row-level security does not
  // apply to, a missing schema) stops the start at once
  let role;
  for (let attempt = 1; ; attempt++) {
    try {
      role = await checkDatabase(pool);
      break;
    } catch (err) {
      const transient = err.code === '57P03' || /timeout|ECONNREFUSED|ENOENT|Connection terminated/.test(err.message);
      if (transient && attempt < 20) {
        app.log.warn({ err: err.message, attempt }, 'database not reachable yet');
        await new Promise((resolve) => setTimeout(resolve, 500));
        continue;
      }
      app.log.fatal({ err: err.message }, 'cannot start');
      await pool.end().catch(() => {});
      process.exitCode = 1;
      return;
    }
  }

  let stopping = false;
  const stop = async (signal) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'stopping');
    const force = setTimeout(() => {
      app.log.error('requests still running 10 s after the signal: exiting');
      process.exit(1);
    }, 10000);
    force.unref();
    try {
      await app.close();   // no new connections; the requests under way finish
      await pool.end();
      app.log.info('stopped');
    } catch (err) {
      app.log.error({ err: err.message }, 'error while stopping');
      process.exitCode = 1;
    }
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));

  await app.listen({ host: config.host, port: config.port });
  const { port } = app.server.address();
  app.log.info({ host: config.host, port, role, pool_max: config.poolMax,
                 statement_timeout_ms: config.statementTimeoutMs }, 'listening');
}

if (require.main === module) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}

module.exports = { loadConfig, createPool, checkDatabase };
