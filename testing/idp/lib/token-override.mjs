// The token endpoint's test hooks (a Koa middleware inside oidc-provider, before its routes):
//  - counts the grants by grant_type for /__test/stats;
//  - adds `typ: "JWT"` to ID token headers, as Logto has it;
//  - applies the one-shot override set with POST /__test/next-token-response.
//
// Override document (all members optional):
//   raw:               { status = 200, content_type = "application/json", body }  answer this instead
//                      (the request is not processed at all; an object body is sent as JSON)
//   merge:             { ... }  merged into the JSON response body (null deletes a member)
//   id_token_claims:   { ... }  merged into the ID token's claims (null deletes a claim)
//   id_token_header:   { ... }  merged into the ID token's header (null deletes a member)
//   id_token_signing:  "idp" (default) | "none" | "foreign" | "tamper"
// The ID token is rewritten whenever any id_token_* member is present and the response has one.

import { decodeCompact, mergeWithDeletes, replacePayload, signCompact } from './keys.mjs';

const GRANT_STATS = {
  authorization_code: 'authorization_code_grants',
  refresh_token: 'refresh_token_grants',
};

export const SIGNING_MODES = ['idp', 'none', 'foreign', 'tamper'];

/** Validates an override document; throws a 400-able error. */
export function validateOverride(over) {
  const bad = (message) => Object.assign(new Error(message), { status: 400 });
  if (!over || typeof over !== 'object' || Array.isArray(over)) throw bad('override must be a JSON object');
  const known = new Set(['raw', 'merge', 'id_token_claims', 'id_token_header', 'id_token_signing']);
  for (const key of Object.keys(over)) {
    if (!known.has(key)) throw bad(`unknown override member "${key}" (known: ${[...known].join(', ')})`);
  }
  if (over.id_token_signing !== undefined && !SIGNING_MODES.includes(over.id_token_signing)) {
    throw bad(`id_token_signing must be one of ${SIGNING_MODES.join(', ')}`);
  }
  return over;
}

/** Rewrites a signed ID token per the override's id_token_* members. */
export function rewriteIdToken(idp, idToken, over) {
  const { header, payload } = decodeCompact(idToken);
  const claims = mergeWithDeletes(payload, over.id_token_claims);
  let newHeader = mergeWithDeletes(header, over.id_token_header);
  const current = idp.currentKey;

  switch (over.id_token_signing ?? 'idp') {
    case 'none': {
      newHeader = { ...newHeader, alg: 'none' };
      if (over.id_token_header?.kid === undefined) delete newHeader.kid;
      return signCompact(newHeader, claims);
    }
    case 'foreign': {
      const foreign = idp.foreignKey(current.alg);
      if (over.id_token_header?.kid === undefined) newHeader.kid = foreign.kid;
      return signCompact(newHeader, claims, foreign);
    }
    case 'tamper': {
      // A valid signature over `claims`, then `sub` is changed: the signature no longer matches.
      const signed = signCompact(newHeader, claims, current);
      return replacePayload(signed, { ...claims, sub: `${claims.sub ?? ''}-tampered` });
    }
    default:
      return signCompact(newHeader, claims, current);
  }
}

/**
 * Logto's ID tokens carry `typ: "JWT"` in their header ({alg, typ, kid}); oidc-provider's do not,
 * so the ID token is re-signed, with the same key, with that header.
 */
function withJwtTyp(idp, idToken) {
  const { header, payload } = decodeCompact(idToken);
  if (header.typ !== undefined) return idToken;
  const key = idp.keys.find((k) => k.kid === header.kid);
  if (!key) return idToken;
  return signCompact({ alg: header.alg, typ: 'JWT', ...header }, payload, key);
}

function sendRaw(ctx, raw) {
  ctx.status = raw.status ?? 200;
  ctx.type = raw.content_type ?? 'application/json';
  const { body } = raw;
  ctx.body = typeof body === 'string' ? body : JSON.stringify(body ?? '');
}

export function tokenEndpointMiddleware(idp) {
  return async function tokenEndpointHooks(ctx, next) {
    if (ctx.path !== '/token' || ctx.method !== 'POST') {
      await next();
      return;
    }

    const over = idp.nextTokenResponse;
    idp.nextTokenResponse = undefined;
    if (over?.raw) {
      sendRaw(ctx, over.raw);
      return;
    }

    try {
      await next();
    } finally {
      const stat = GRANT_STATS[ctx.oidc?.params?.grant_type];
      if (stat) idp.count(stat);
    }

    if (ctx.status !== 200 || !ctx.body || typeof ctx.body !== 'object') return;
    let body = { ...ctx.body };
    if (typeof body.id_token === 'string') body.id_token = withJwtTyp(idp, body.id_token);
    if (!over) {
      ctx.body = body;
      return;
    }
    const touchesIdToken = ['id_token_claims', 'id_token_header', 'id_token_signing'].some((k) => over[k] !== undefined);
    if (touchesIdToken && typeof body.id_token === 'string') {
      body.id_token = rewriteIdToken(idp, body.id_token, over);
    }
    if (over.merge) body = mergeWithDeletes(body, over.merge);
    ctx.body = body;
  };
}
