// Builds the oidc-provider instance configured like a Logto tenant.
//
// A new instance is built at start-up and after every key rotation (POST /__test/rotate-keys):
// oidc-provider reads its keystore once, at construction. All state lives in the shared
// in-memory store (adapter.mjs) and the cookie keys are fixed per process, so sessions, grants and
// tokens survive the swap.

import Provider, { errors } from 'oidc-provider';

import { SCOPE_CLAIMS } from './accounts.mjs';
import { SIGNING_ALGS } from './config.mjs';
import { logtoErrorBodies } from './errors.mjs';
import { refreshTokenGrant } from './refresh-grant.mjs';
import { logoutSource, postLogoutSuccessSource } from './pages.mjs';

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

export function buildProvider(idp) {
  const { config, accounts } = idp;

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
    enabledJWA: {
      // Logto's list plus EdDSA, which this IdP can sign with (Logto signs with ES384 or RS256).
      idTokenSigningAlgValues: [...SIGNING_ALGS],
      // oidc-provider 8's default, the list Logto's discovery document shows.
      clientAuthSigningAlgValues: ['HS256', 'RS256', 'PS256', 'ES256', 'EdDSA'],
    },
    // Logto's discovery document also has these (oidc-provider 8 wrote `false` where 9 omits it).
    discovery: { request_parameter_supported: false },

    findAccount: accounts.findAccount,
    // Logto's `claims: userClaims`: the scopes are the claim-defined ones (no `scopes` option).
    claims: SCOPE_CLAIMS,
    // Like Logto: the scopes' claims go into the ID token too (not only userinfo); which extended
    // claims (custom_data, identities…) do is the tenant's ID token setting (see accounts.mjs).
    conformIdTokenClaims: false,
    // Logto's extra authorization request parameters (ExtraParamsKey; shown on the login page).
    extraParams: [
      'interaction_mode', 'first_screen', 'direct_sign_in', 'organization_id', 'login_hint',
      'ui_locales', 'identifier', 'one_time_token', 'google_one_tap_credential',
    ],

    // Logto's rule (init.ts): PKCE S256 for every client but client_secret_basic ones, unless the
    // client's entry says otherwise with `pkce_required` (a plain OAuth 2.0 client sends none).
    pkce: {
      required: (_ctx, client) => {
        const entry = config.clients.find((c) => c.client_id === client.clientId);
        return entry?.pkce_required ?? client.clientAuthMethod !== 'client_secret_basic';
      },
    },
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
    // Logto answers errors that cannot go back to the client as JSON too (init.ts renderError);
    // logtoErrorBodies then adds `code` and `message`.
    renderError: async (ctx, out) => {
      ctx.body = out;
    },

    formats: {
      customizers: {
        // Logto's JWT access tokens always carry `scope` (possibly ""; its oidc-provider fork
        // reverted the `scope || undefined` of formats/jwt.js), plus `organization_id` for
        // organization-level API resource tokens (extra-token-claims.ts; see refresh-grant.mjs).
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
      // Enabled in Logto: only shows in discovery here (no client has a backchannel_logout_uri).
      backchannelLogout: { enabled: true },
      // Not enabled in Logto (oidc-provider 8's default); oidc-provider 9 enables it by default.
      dPoP: { enabled: false },
      rpInitiatedLogout: { enabled: true, logoutSource, postLogoutSuccessSource },
      resourceIndicators: {
        enabled: true,
        // Without a `resource` the token endpoint issues an opaque token (userinfo only).
        defaultResource: async (_ctx, _client, oneOf) => (oneOf?.length === 1 ? oneOf[0] : undefined),
        useGrantedResource: async () => false,
        getResourceServerInfo: async (_ctx, indicator) => {
          const info = idp.resourceServerInfo(indicator);
          if (!info) throw new errors.InvalidTarget();
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
  // `userinfo_field_names`: userinfo's members under other names (a non-OIDC profile format).
  provider.use(async (ctx, next) => {
    await next();
    const names = config.userinfo_field_names;
    if (ctx.oidc?.route !== 'userinfo' || ctx.status !== 200 || Object.keys(names).length === 0) return;
    const body = typeof ctx.body === 'string' ? JSON.parse(ctx.body) : ctx.body;
    if (body === null || typeof body !== 'object' || Array.isArray(body)) return;
    ctx.body = Object.fromEntries(Object.entries(body).map(([key, value]) => [names[key] ?? key, value]));
  });

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
