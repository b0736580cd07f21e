// Signing keys and a small compact-JWS toolkit.
//
// oidc-provider signs the real tokens itself from the private JWKs we give it. The helpers here
// are for the test-only admin endpoints, which must be able to produce deliberately broken tokens
// (a header that lies about `alg`, an unknown `kid`, `alg: none`, a tampered payload), so they sign
// the exact bytes they are given with node:crypto instead of going through a JOSE library that
// would refuse such headers.

import * as crypto from 'node:crypto';

const b64u = (input) => Buffer.from(input).toString('base64url');
const encodeSegment = (object) => b64u(JSON.stringify(object));

/** Key generation parameters for each supported JWS algorithm. */
function keyPairFor(alg) {
  switch (alg) {
    case 'ES256': return crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
    case 'ES384': return crypto.generateKeyPairSync('ec', { namedCurve: 'P-384' });
    case 'ES512': return crypto.generateKeyPairSync('ec', { namedCurve: 'P-521' });
    case 'RS256':
    case 'PS256': return crypto.generateKeyPairSync('rsa', { modulusLength: 2048 });
    case 'EdDSA': return crypto.generateKeyPairSync('ed25519');
    default: throw new Error(`unsupported signing algorithm ${alg}`);
  }
}

/**
 * Logto's `kid` (packages/core/src/utils/jwks.ts calculateKid): base64url SHA-256 of the JSON of
 * the key's required public members.
 */
function logtoKid(jwk) {
  const components = {
    RSA: { e: jwk.e, kty: 'RSA', n: jwk.n },
    EC: { crv: jwk.crv, kty: 'EC', x: jwk.x, y: jwk.y },
    OKP: { crv: jwk.crv, kty: 'OKP', x: jwk.x },
  }[jwk.kty];
  return crypto.createHash('sha256').update(JSON.stringify(components)).digest('base64url');
}

/**
 * A fresh signing key: `{ kid, alg, privateKey (KeyObject), jwk (private JWK with kid/alg/use) }`.
 * The IdP's own keys get Logto's `kid`; foreign keys (`foreign` prefix) a recognisable
 * `foreign-<alg>-<random>` one.
 */
export function generateSigningKey(alg, kidPrefix) {
  const { privateKey } = keyPairFor(alg);
  const exported = privateKey.export({ format: 'jwk' });
  const kid = kidPrefix
    ? `${kidPrefix}-${alg.toLowerCase()}-${crypto.randomBytes(6).toString('base64url')}`
    : logtoKid(exported);
  const jwk = { ...exported, kid, alg, use: 'sig' };
  return { kid, alg, privateKey, jwk };
}

/** Signs `input` (the JWS signing input) with `privateKey` as algorithm `alg` requires. */
function rawSign(alg, input, privateKey) {
  const data = Buffer.from(input);
  switch (alg) {
    case 'ES256': return crypto.sign('sha256', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ES384': return crypto.sign('sha384', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'ES512': return crypto.sign('sha512', data, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    case 'RS256': return crypto.sign('sha256', data, privateKey);
    case 'PS256':
      return crypto.sign('sha256', data, {
        key: privateKey,
        padding: crypto.constants.RSA_PKCS1_PSS_PADDING,
        saltLength: 32,
      });
    case 'EdDSA': return crypto.sign(null, data, privateKey);
    default: throw new Error(`unsupported signing algorithm ${alg}`);
  }
}

/**
 * Compact JWS of `payload` with exactly `header`, signed with `key` (from generateSigningKey) using
 * the key's own algorithm whatever `header.alg` says. `header.alg === "none"` yields an unsigned
 * token (empty signature).
 */
export function signCompact(header, payload, key) {
  const input = `${encodeSegment(header)}.${encodeSegment(payload)}`;
  if (header.alg === 'none') return `${input}.`;
  return `${input}.${b64u(rawSign(key.alg, input, key.privateKey))}`;
}

/** Decodes a compact JWS without verifying it: `{ header, payload, signature }`. */
export function decodeCompact(token) {
  const [header, payload, signature] = token.split('.');
  return {
    header: JSON.parse(Buffer.from(header, 'base64url').toString()),
    payload: JSON.parse(Buffer.from(payload, 'base64url').toString()),
    signature,
  };
}

/** Re-encodes the payload segment of a signed token, keeping the old signature (so it no longer verifies). */
export function replacePayload(token, payload) {
  const [header, , signature] = token.split('.');
  return `${header}.${encodeSegment(payload)}.${signature}`;
}

/** Shallow-merges `patch` into `object`; a null value in `patch` deletes that member. */
export function mergeWithDeletes(object, patch = {}) {
  const merged = { ...object };
  for (const [name, value] of Object.entries(patch)) {
    if (value === null) delete merged[name];
    else merged[name] = value;
  }
  return merged;
}
