#!/usr/bin/env node
// logto-rs test identity provider: oidc-provider v9 configured like a Logto tenant.
//
//   node testing/idp/server.mjs [--port N] [--config '<json>'] [--no-stdin-exit]
//
// Configuration JSON comes from --config or the IDP_CONFIG environment variable (--config wins).
// Once listening on 127.0.0.1 it prints exactly one line to stdout:
//   {"ready":true,"base_url":"http://127.0.0.1:PORT","issuer":"http://127.0.0.1:PORT/oidc"}
// All other output goes to stderr. It exits on SIGTERM/SIGINT and, unless --no-stdin-exit is
// given, when its stdin reaches EOF (so it dies with the test process that spawned it).
// See README.md for the routes, the configuration keys and the fixtures.

import * as http from 'node:http';
import { format, parseArgs } from 'node:util';

// stdout carries only the ready line: route every console method to stderr (oidc-provider prints
// notices with console.info).
for (const method of ['log', 'info', 'debug', 'warn', 'error']) {
  console[method] = (...args) => process.stderr.write(`${format(...args)}\n`);
}

const { handleAdmin, isAdminPath, queryToObject } = await import('./lib/admin.mjs');
const { loadConfig } = await import('./lib/config.mjs');
const { Idp } = await import('./lib/idp.mjs');
const { handleInteraction, isInteractionPath } = await import('./lib/interactions.mjs');
const { sendJson } = await import('./lib/http.mjs');

// Which /__test/stats counter a request under /oidc bumps (path relative to /oidc).
const PATH_STATS = {
  '/.well-known/openid-configuration': 'discovery',
  '/.well-known/oauth-authorization-server': 'discovery',
  '/jwks': 'jwks',
  '/auth': 'authorization',
  '/token': 'token',
  '/me': 'userinfo',
  '/token/revocation': 'revocation',
  '/token/introspection': 'introspection',
  '/session/end': 'end_session',
};

function parseCommandLine() {
  const { values } = parseArgs({
    options: {
      port: { type: 'string', default: '0' },
      config: { type: 'string' },
      'no-stdin-exit': { type: 'boolean', default: false },
    },
  });
  const port = Number(values.port);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`invalid --port ${values.port}`);
  const rawConfig = values.config ?? process.env.IDP_CONFIG;
  let config;
  try {
    config = rawConfig ? JSON.parse(rawConfig) : {};
  } catch (error) {
    throw new Error(`configuration is not valid JSON: ${error.message}`);
  }
  return { port, config: loadConfig(config), stdinExit: !values['no-stdin-exit'] };
}

/** The HTTP entry point: /oidc/* → oidc-provider, /interaction/* → sign-in, /__test/* → admin. */
function requestHandler(idp) {
  return async (req, res) => {
    const url = new URL(req.url, idp.baseUrl);
    const { pathname } = url;
    try {
      if (pathname === '/oidc' || pathname.startsWith('/oidc/')) {
        const inner = pathname.slice('/oidc'.length) || '/';
        const stat = PATH_STATS[inner];
        if (stat && req.method !== 'OPTIONS') idp.count(stat);
        if (inner === '/auth' && req.method === 'GET') {
          idp.lastAuthorizationRequest = queryToObject(url.searchParams);
        }
        // Mount oidc-provider at /oidc: it derives its mount path from originalUrl vs url.
        req.originalUrl = req.url;
        req.url = `${inner}${url.search}`;
        idp.providerCallback(req, res);
        return;
      }
      if (isInteractionPath(pathname)) {
        await handleInteraction(idp, req, res, pathname);
        return;
      }
      if (isAdminPath(pathname)) {
        await handleAdmin(idp, req, res, pathname);
        return;
      }
      if (pathname === '/') {
        sendJson(res, 200, { name: 'logto-rs test IdP', issuer: idp.issuer });
        return;
      }
      sendJson(res, 404, { error: 'not_found', message: `no route for ${req.method} ${pathname}` });
    } catch (error) {
      console.error(`error handling ${req.method} ${req.url}:`, error);
      if (!res.headersSent) sendJson(res, 500, { error: 'server_error', message: String(error?.message ?? error) });
      else res.end();
    }
  };
}

async function main() {
  const { port, config, stdinExit } = parseCommandLine();
  const idp = new Idp(config);
  const server = http.createServer();

  await new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  const baseUrl = `http://127.0.0.1:${server.address().port}`;
  idp.start(baseUrl);
  server.on('request', requestHandler(idp));

  const shutdown = (why) => {
    console.error(`test IdP shutting down (${why})`);
    server.close();
    server.closeAllConnections?.();
    process.exit(0);
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
  if (stdinExit) {
    process.stdin.on('end', () => shutdown('stdin closed'));
    process.stdin.on('error', () => shutdown('stdin error'));
    process.stdin.resume();
  }

  process.stdout.write(`${JSON.stringify({ ready: true, base_url: baseUrl, issuer: idp.issuer })}\n`);
  console.error(`test IdP ready at ${baseUrl} (issuer ${idp.issuer}, signing ${idp.signingAlg})`);
}

main().catch((error) => {
  console.error(`test IdP failed to start: ${error.stack ?? error}`);
  process.exit(1);
});
