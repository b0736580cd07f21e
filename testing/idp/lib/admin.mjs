// Test-only admin endpoints under /__test/ (JSON in, JSON out). Not part of Logto.
//
//   GET  /__test/last-authorization-request  query of the last /oidc/auth request
//   POST /__test/rotate-keys                 {"alg"?, "keep_old"?} → {"kid"}
//   GET  /__test/stats                       request counters
//   POST /__test/stats/reset                 zeroes them (204)
//   POST /__test/next-token-response         one-shot override of the next /oidc/token answer (204)
//   POST /__test/held-token-response         waits until a token response is held ({"hold": true}) (204)
//   POST /__test/release-token-response      sends the held token response (204; 409 if none)
//   POST /__test/sign                        {"payload", "header"?, "key"?: "idp"|"foreign"} → {"token"}
//   GET  /__test/jwks-private                the private signing keys (to debug; current first)

import { mergeWithDeletes, signCompact } from './keys.mjs';
import { readJson, sendJson, sendNoContent } from './http.mjs';
import { releaseHeldResponse, validateOverride, waitForHeldResponse } from './token-override.mjs';

const bad = (message) => Object.assign(new Error(message), { status: 400 });

/** Query parameters as an object: a repeated parameter becomes an array of strings. */
export function queryToObject(searchParams) {
  const object = {};
  for (const name of new Set(searchParams.keys())) {
    const values = searchParams.getAll(name);
    object[name] = values.length > 1 ? values : values[0];
  }
  return object;
}

const routes = {
  'GET /__test/last-authorization-request': (idp) => [200, idp.lastAuthorizationRequest ?? {}],

  'POST /__test/rotate-keys': (idp, body) => {
    const keepOld = body.keep_old ?? true;
    if (typeof keepOld !== 'boolean') throw bad('keep_old must be a boolean');
    return [200, { kid: idp.rotateKeys(body.alg ?? idp.signingAlg, keepOld) }];
  },

  'GET /__test/stats': (idp) => [200, idp.stats],

  'POST /__test/stats/reset': (idp) => {
    idp.resetStats();
    return [204];
  },

  'POST /__test/next-token-response': (idp, body) => {
    idp.nextTokenResponse = validateOverride(body);
    return [204];
  },

  'POST /__test/held-token-response': async (idp) => {
    await waitForHeldResponse(idp);
    return [204];
  },

  'POST /__test/release-token-response': (idp) => {
    if (!releaseHeldResponse(idp)) throw Object.assign(new Error('no token response is held'), { status: 409 });
    return [204];
  },

  'POST /__test/sign': (idp, body) => {
    const { payload, header, key = 'idp' } = body;
    if (!payload || typeof payload !== 'object') throw bad('payload must be a JSON object');
    if (header !== undefined && header !== null && typeof header !== 'object') throw bad('header must be a JSON object');
    if (key !== 'idp' && key !== 'foreign') throw bad('key must be "idp" or "foreign"');
    const signingKey = key === 'idp' ? idp.currentKey : idp.foreignKey();
    const fullHeader = mergeWithDeletes({ alg: signingKey.alg, typ: 'JWT', kid: signingKey.kid }, header ?? {});
    return [200, { token: signCompact(fullHeader, payload, signingKey) }];
  },

  'GET /__test/jwks-private': (idp) => [200, { keys: idp.keys.map((k) => k.jwk) }],
};

export function isAdminPath(pathname) {
  return pathname.startsWith('/__test/');
}

export async function handleAdmin(idp, req, res, pathname) {
  const route = routes[`${req.method} ${pathname}`];
  if (!route) {
    sendJson(res, 404, { error: 'not_found', message: `no admin route ${req.method} ${pathname}` });
    return;
  }
  try {
    const body = req.method === 'POST' ? await readJson(req) : {};
    if (body === null || typeof body !== 'object' || Array.isArray(body)) throw bad('body must be a JSON object');
    const [status, value] = await route(idp, body);
    if (status === 204) sendNoContent(res);
    else sendJson(res, status, value);
  } catch (error) {
    const status = error.status ?? 500;
    if (status >= 500) console.error('admin endpoint error:', error);
    sendJson(res, status, { error: status >= 500 ? 'server_error' : 'invalid_request', message: error.message });
  }
}
