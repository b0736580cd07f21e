// The IdP's state: configuration, accounts, storage, signing keys, the current oidc-provider
// instance, and the bookkeeping behind the /__test admin endpoints.

import * as crypto from 'node:crypto';

import { Accounts } from './accounts.mjs';
import { Store } from './adapter.mjs';
import { ORGANIZATION_RESOURCE, SIGNING_ALGS } from './config.mjs';
import { generateSigningKey } from './keys.mjs';
import { buildProvider } from './provider.mjs';
import { tokenEndpointMiddleware } from './token-override.mjs';

export const STAT_NAMES = [
  'discovery', 'jwks', 'authorization', 'token', 'authorization_code_grants', 'refresh_token_grants',
  'userinfo', 'revocation', 'introspection', 'end_session',
];

export class Idp {
  constructor(config) {
    this.config = config;
    this.accounts = new Accounts(config.users, config.id_token_extended_claims);
    this.store = new Store();
    this.cookieKeys = [crypto.randomBytes(32).toString('base64url')];
    this.signingAlg = config.signing_alg;
    /** Signing keys, current first (oidc-provider signs with the first matching key). */
    this.keys = [generateSigningKey(this.signingAlg)];
    /** One "foreign" key per algorithm: valid signatures whose kid is never in the JWKS. */
    this.foreignKeys = new Map();
    /** Extra claims for particular JWT access tokens (organization_id), keyed by token object. */
    this.extraAccessTokenClaims = new WeakMap();
    /** The pending one-shot override of the next token endpoint response. */
    this.nextTokenResponse = undefined;
    this.lastAuthorizationRequest = undefined;
    this.resetStats();
    this.tokenEndpointMiddleware = tokenEndpointMiddleware(this);
  }

  /** Builds the provider for `baseUrl` (known once the server listens). */
  start(baseUrl) {
    this.baseUrl = baseUrl;
    this.issuer = `${baseUrl}/oidc`;
    this.rebuildProvider();
  }

  rebuildProvider() {
    this.provider = buildProvider(this);
    this.providerCallback = this.provider.callback();
  }

  get currentKey() {
    return this.keys[0];
  }

  /** Makes a new key of `alg` the signing key; older keys stay in the JWKS when `keepOld`. */
  rotateKeys(alg = this.signingAlg, keepOld = true) {
    if (!SIGNING_ALGS.includes(alg)) throw Object.assign(new Error(`alg must be one of ${SIGNING_ALGS.join(', ')}`), { status: 400 });
    const key = generateSigningKey(alg);
    this.keys = keepOld ? [key, ...this.keys] : [key];
    this.signingAlg = alg;
    this.rebuildProvider();
    return key.kid;
  }

  foreignKey(alg = this.signingAlg) {
    if (!this.foreignKeys.has(alg)) this.foreignKeys.set(alg, generateSigningKey(alg, 'foreign'));
    return this.foreignKeys.get(alg);
  }

  /** oidc-provider resource server info for a JWT access token with this audience and scopes. */
  jwtAccessTokenInfo(audience, scopes) {
    return {
      audience,
      scope: scopes.join(' '),
      accessTokenFormat: 'jwt',
      accessTokenTTL: this.config.access_token_ttl,
      jwt: { sign: { alg: this.signingAlg } },
    };
  }

  /** Resource server info for a registered resource indicator, or undefined. */
  resourceServerInfo(indicator) {
    if (indicator === ORGANIZATION_RESOURCE) {
      // Logto's organization resource: its scopes are the organization-level scopes.
      const scopes = new Set(this.config.users.flatMap((u) => u.organizations.flatMap((o) => o.scopes ?? [])));
      return this.jwtAccessTokenInfo(indicator, [...scopes]);
    }
    const resource = this.config.resources.find((r) => r.indicator === indicator);
    return resource && this.jwtAccessTokenInfo(indicator, resource.scopes);
  }

  resetStats() {
    this.stats = Object.fromEntries(STAT_NAMES.map((name) => [name, 0]));
  }

  count(name) {
    this.stats[name] += 1;
  }
}
