// Builds the oidc-provider instance configured like a Logto tenant.
//
// A new instance is built at start-up and after every key rotation (POST /__test/rotate-keys):
// oidc-provider reads its keystore once, at construction. All state lives in the shared
// in-memory store (adapter.mjs) and the cookie keys are fixed per process, so sessions, grants and
// tokens survive the swap.

import Provider, { errors } from 'oidc-provider';

import { SCOPE_CLAIMS } from './accounts.mjs';
import { SIGNING_ALGS } from './config.mjs';
import { refreshTokenGrant } from './refresh-grant.mjs';
import { logoutSource, postLogoutSuccessSource, renderError } from './pages.mjs';

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);

/**
 * Redirect URI matching with RFC 8252 §7.3 style port freedom: a URI on a loopback host
 * (127.0.0.1, localhost, [::1]) matches a registered one with the same scheme, host, path and
 * query whatever its port. Anything else must match exactly.
 */
export function redirectUriMatches(value, registered) {
  if (registered.includes(value)) return true;
  const candidate = URL.parse(value);
  if (!candidate || !LOOPBACK_HOSTS.has(candidate.hostname) || candidate.hash) return false;
  return registered.some((uri) => {
    const allowed = URL.parse(uri);
    return allowed
      && allowed.protocol === candidate.protocol
      && allowed.hostname === candidate.hostname
      && allowed.pathname === candidate.pathname
      && allowed.search === candidate.search;
  });
}

/** Adds Logto's `code` and `message` members to oidc-provider's JSON error bodies. */
async function logtoErrorBodies(ctx, next) {
  await next();
  const { body } = ctx;
  if (
    ctx.status >= 400
    && body && typeof body === 'object' && !Buffer.isBuffer(body) && typeof body.pipe !== 'function'
    && typeof body.error === 'string' && body.code === undefined
  ) {
    ctx.body = {
      code: `oidc.${body.error}`,
      message: body.error_description ?? body.error,
      ...body,
    };
  }
}

export function buildProvider(idp) {
  const { config, accounts } = idp;
  const scopes = ['openid', 'offline_access', ...Object.keys(SCOPE_CLAIMS).filter((s) => s !== 'openid')];

  const provider = new Provider(idp.issuer, {
    adapter: idp.store.adapterFactory(),
    jwks: { keys: idp.keys.map((key) => key.jwk) },
    cookies: { keys: idp.cookieKeys },
    clients: config.clients,
    clientDefaults: {
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: 'client_secret_basic',
      id_token_signed_response_alg: idp.signingAlg,
    },
    clientBasedCORS: () => true,
    responseTypes: ['code'],
    enabledJWA: { idTokenSigningAlgValues: [...SIGNING_ALGS] },

    findAccount: accounts.findAccount,
    claims: SCOPE_CLAIMS,
    scopes,
    // Like Logto: the scopes' claims go into the ID token too (not only userinfo); the
    // "needs userinfo" claims are kept out of it by claimsOf().
    conformIdTokenClaims: false,
    // Logto's extra authorization request parameters (shown on the login page).
    extraParams: ['interaction_mode', 'first_screen', 'identifier', 'direct_sign_in', 'organization_id', 'one_time_token'],

    pkce: { required: () => true },
    rotateRefreshToken: true,
    // Refresh tokens only with offline_access (oidc-provider drops offline_access from the request
    // unless prompt includes consent).
    issueRefreshToken: async (_ctx, client, code) => client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access'),

    ttl: {
      AccessToken: config.access_token_ttl,
      IdToken: config.id_token_ttl,
      RefreshToken: config.refresh_token_ttl,
      AuthorizationCode: 600,
      Interaction: 3600,
      Session: 14 * 24 * 3600,
      Grant: Math.max(config.refresh_token_ttl, 14 * 24 * 3600),
    },

    interactions: { url: async (_ctx, interaction) => `/interaction/${interaction.uid}` },
    renderError,

    formats: {
      customizers: {
        // Logto's JWT access tokens always carry `scope` (possibly ""), plus `organization_id`
        // for organization-level resource tokens (see refresh-grant.mjs).
        jwt: async (_ctx, token, jwt) => {
          jwt.payload.scope ??= token.scope ?? '';
          Object.assign(jwt.payload, idp.extraAccessTokenClaims.get(token));
        },
      },
    },

    features: {
      devInteractions: { enabled: false },
      userinfo: { enabled: true },
      revocation: { enabled: true },
      introspection: { enabled: true },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // Without a `resource` the token endpoint issues an opaque token (userinfo only).
        defaultResource: async (_ctx, _client, oneOf) => (oneOf?.length === 1 ? oneOf[0] : undefined),
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, indicator) => {
          const info = idp.resourceServerInfo(indicator);
          if (!info) throw new errors.InvalidTarget(`resource indicator "${indicator}" is not registered`);
          return info;
        },
      },
    },
  });

  // Loopback redirect URIs match whatever their port (tests and apps run on random ports).
  provider.Client.prototype.redirectUriAllowed = function redirectUriAllowed(value) {
    return redirectUriMatches(value, this.redirectUris ?? []);
  };
  provider.Client.prototype.postLogoutRedirectUriAllowed = function postLogoutRedirectUriAllowed(value) {
    return redirectUriMatches(value, this.postLogoutRedirectUris ?? []);
  };

  // Logto's refresh_token grant: organization tokens, reuse grace period.
  provider.registerGrantType(
    'refresh_token',
    refreshTokenGrant(idp),
    ['refresh_token', 'scope', 'resource', 'organization_id'],
    ['resource'],
  );

  // Outermost first: the test override of token responses, then Logto-style error bodies.
  provider.use(idp.tokenEndpointMiddleware);
  provider.use(logtoErrorBodies);

  // Log every rejected request to stderr: invaluable when a test fails on an OAuth error.
  provider.on('server_error', (_ctx, error) => console.error('oidc-provider server_error:', error));
  for (const event of ['authorization.error', 'grant.error', 'userinfo.error', 'end_session.error',
    'revocation.error', 'introspection.error', 'jwks.error', 'discovery.error']) {
    provider.on(event, (_ctx, error) => {
      const detail = error.error_detail ? ` (${error.error_detail})` : '';
      console.error(`${event}: ${error.error ?? error.name}: ${error.error_description ?? error.message}${detail}`);
    });
  }
  return provider;
}
