// The token endpoint's test hooks (a Koa middleware inside oidc-provider, before its routes):
//  - counts the grants by grant_type for /__test/stats;
//  - makes the ID token what Logto's oidc-provider fork issues: `typ: "JWT"` in its header and an
//    `at_hash` claim (oidc-provider 9 dropped both);
//  - applies the one-shot override set with POST /__test/next-token-response.
//
// Override document (all members optional):
//   raw:               { status = 200, content_type = "application/json", body }  answer this instead
//                      (the request is not processed at all; an object body is sent as JSON)
//   merge:             { ... }  merged into the JSON response body (null deletes a member)
//   id_token_claims:   { ... }  merged into the ID token's claims (null deletes a claim)
//   id_token_header:   { ... }  merged into the ID token's header (null deletes a member)
//   id_token_signing:  "idp" (default) | "none" | "foreign" | "tamper"
//   hold:              true: the request is processed (a refresh token rotated), then its answer is held
//                      until POST /__test/release-token-response (a slow token response)
// The ID token is rewritten whenever any id_token_* member is present and the response has one.

import * as crypto from 'node:crypto';

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
  const known = new Set(['raw', 'merge', 'id_token_claims', 'id_token_header', 'id_token_signing', 'hold']);
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

/** The hash OpenID Connect's `at_hash` uses for a JWS algorithm (oidc-token-hash). */
function hashFor(alg, crv) {
  if (alg === 'EdDSA') return crv === 'Ed448' ? 'shake256' : 'sha512';
  return { 256: 'sha256', 384: 'sha384', 512: 'sha512' }[alg.slice(-3)];
}

/** `at_hash` of `accessToken`: the left half of its hash, base64url (OIDC Core §3.1.3.6). */
export function atHash(accessToken, alg, crv) {
  const name = hashFor(alg, crv);
  const digest = name === 'shake256'
    ? crypto.createHash(name, { outputLength: 114 }).update(accessToken).digest()
    : crypto.createHash(name).update(accessToken).digest();
  return digest.subarray(0, digest.length / 2).toString('base64url');
}

/**
 * Logto's ID tokens, from its oidc-provider fork (8.x, models/id_token.js and helpers/jwt.js),
 * carry `typ: "JWT"` in their header ({alg, typ, kid}) and, from the token endpoint (code and
 * refresh grants alike), an `at_hash` of the access token issued with them, after `nonce`.
 * oidc-provider 9 writes neither, so the ID token is re-signed, with the same key, with both.
 */
function asLogtoIssuesIt(idp, idToken, accessToken) {
  const { header, payload } = decodeCompact(idToken);
  const key = idp.keys.find((k) => k.kid === header.kid);
  if (!key) return idToken;
  let claims = payload;
  if (typeof accessToken === 'string' && payload.at_hash === undefined) {
    const hash = atHash(accessToken, key.alg, key.jwk.crv);
    claims = {};
    // Logto's order: the account's claims, then nonce, at_hash (sid), then aud exp iat iss.
    for (const [name, value] of Object.entries(payload)) {
      if (name === 'aud' && claims.at_hash === undefined) claims.at_hash = hash;
      claims[name] = value;
      if (name === 'nonce') claims.at_hash = hash;
    }
    claims.at_hash ??= hash;
  }
  return signCompact({ alg: header.alg, typ: 'JWT', ...header }, claims, key);
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
    if (typeof body.id_token === 'string') body.id_token = asLogtoIssuesIt(idp, body.id_token, body.access_token);
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
    if (over.hold === true) await holdResponse(idp);
  };
}

/** Holds a token response until releaseHeldResponse; wakes those waiting for one to be held. */
function holdResponse(idp) {
  return new Promise((release) => {
    idp.heldRelease = release;
    for (const wake of idp.heldWaiters ?? []) wake();
    idp.heldWaiters = [];
  });
}

/** Resolves once a token response is held. */
export function waitForHeldResponse(idp) {
  if (idp.heldRelease) return Promise.resolve();
  return new Promise((wake) => (idp.heldWaiters ??= []).push(wake));
}

/** Sends the held token response, if any; whether one was held. */
export function releaseHeldResponse(idp) {
  const release = idp.heldRelease;
  idp.heldRelease = undefined;
  release?.();
  return release !== undefined;
}
