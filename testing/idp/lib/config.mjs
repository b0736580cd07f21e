// Configuration of the test IdP: the defaults (fixture users, clients, API resources, TTLs) and the
// merging of the JSON configuration given with `--config` / `IDP_CONFIG`.
//
// Every key is documented in ../README.md. Unknown top-level keys are rejected so that a typo in a
// test's configuration fails loudly instead of being silently ignored.

/** Logto's reserved resource for organization tokens; accepted as a `resource` indicator. */
export const ORGANIZATION_RESOURCE = 'urn:logto:resource:organizations';
/** Logto's scope that unlocks `organizations` claims and organization tokens. */
export const ORGANIZATIONS_SCOPE = 'urn:logto:scope:organizations';
/** Logto's scope for the `organization_roles` claim. */
export const ORGANIZATION_ROLES_SCOPE = 'urn:logto:scope:organization_roles';
/** Logto's scope for session management through its account API: it maps to no claim. */
export const SESSIONS_SCOPE = 'urn:logto:scope:sessions';
/** The claims a tenant may put in ID tokens (core-kit `extendedIdTokenClaims`). */
const EXTENDED_CLAIMS = [
  'custom_data', 'identities', 'sso_identities', 'roles', 'organizations', 'organization_data',
  'organization_roles',
];
/** Audience of an organization token: `urn:logto:organization:<id>`. */
export const organizationAudience = (id) => `urn:logto:organization:${id}`;

export const SIGNING_ALGS = ['ES256', 'ES384', 'ES512', 'RS256', 'PS256', 'EdDSA'];

// A fixed point in time (2024-01-02T03:04:05.678Z) so fixture claims are stable across runs.
const CREATED_AT_MS = 1704164645678;
const UPDATED_AT_MS = 1717200000123;

const DEFAULT_RESOURCES = [
  { indicator: 'https://shopping.example.com/api', scopes: ['shopping:read', 'shopping:write'] },
  { indicator: 'https://store.example.com/api', scopes: ['store:read', 'store:write'] },
];

// Users are stored flat: every key that is not one of USER_META_KEYS is a claim value (a missing
// claim is returned as null, like Logto, for the claims Logto always returns).
const USER_META_KEYS = new Set(['id', 'password', 'api_scopes', 'organizations']);

// Claims Logto computes, never stores: `email_verified` is `Boolean(primaryEmail)` and
// `phone_number_verified` is `Boolean(primaryPhone)` (packages/core/src/oidc/scope.ts).
const DERIVED_CLAIMS = ['email_verified', 'phone_number_verified'];

const DEFAULT_USERS = [
  {
    id: 'user-alice',
    username: 'alice',
    password: 'alice-password',
    name: 'Alice Liddell',
    picture: 'https://example.com/alice.png',
    created_at: CREATED_AT_MS,
    updated_at: UPDATED_AT_MS,
    email: 'alice@example.com',
    phone_number: '+15555550100',
    // Logto's `profile.address` (@logto/schemas addressGuard): its members keep their camelCase
    // names in the claim, as scope.ts snake-cases only the top-level claim names.
    address: {
      formatted: '1 Rabbit Hole, Wonderland',
      streetAddress: '1 Rabbit Hole',
      locality: 'Wonderland',
      postalCode: '12345',
      country: 'UK',
    },
    custom_data: { plan: 'pro', theme: 'dark' },
    identities: { github: { userId: 'gh-1', details: { email: 'alice@github.example' } } },
    // Exactly what scope.ts sends for each row of user_sso_identities: { issuer, identityId, detail }.
    sso_identities: [{ issuer: 'https://sso.example.com', identityId: 'sso-1', detail: {} }],
    roles: ['admin'],
    // The API scopes her roles grant (intersected with each resource's own scopes).
    api_scopes: ['shopping:read', 'shopping:write', 'store:read'],
    organizations: [
      {
        id: 'org-acme',
        name: 'Acme',
        description: 'Acme Corporation',
        roles: ['admin'],
        // Organization-level scopes (organization token, aud urn:logto:organization:org-acme).
        scopes: ['read:projects', 'write:projects'],
        // Organization-level API resource scopes (resource token with organization_id).
        resource_scopes: { 'https://shopping.example.com/api': ['shopping:read'] },
      },
      {
        id: 'org-globex',
        name: 'Globex',
        description: 'Globex Corporation',
        roles: ['member'],
        scopes: ['read:projects'],
        resource_scopes: {},
      },
    ],
  },
  {
    id: 'user-bob',
    username: 'bob',
    password: 'bob-password',
    // users.created_at / updated_at are `not null`: Logto always sends them.
    created_at: CREATED_AT_MS,
    updated_at: CREATED_AT_MS,
    roles: ['viewer'],
    api_scopes: ['shopping:read'],
    organizations: [],
  },
];

const CALLBACKS = ['http://127.0.0.1/callback', 'http://localhost/callback'];
const POST_LOGOUT = ['http://127.0.0.1/', 'http://localhost/'];

const DEFAULT_CLIENTS = [
  {
    client_id: 'web-app',
    client_secret: 'web-app-secret',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'web-app-2',
    client_secret: 'web-app-2-secret',
    token_endpoint_auth_method: 'client_secret_basic',
  },
  {
    client_id: 'public-app',
    token_endpoint_auth_method: 'none',
  },
];

// Metadata every client gets unless its configuration says otherwise.
const CLIENT_DEFAULTS = {
  grant_types: ['authorization_code', 'refresh_token'],
  response_types: ['code'],
  redirect_uris: CALLBACKS,
  post_logout_redirect_uris: POST_LOGOUT,
};

const DEFAULTS = {
  signing_alg: 'ES384',
  access_token_ttl: 3600,
  id_token_ttl: 3600,
  refresh_token_ttl: 14 * 24 * 3600,
  refresh_token_reuse_grace_seconds: 3,
  // Scopes of organization tokens: "roles" = all the user's organization-role scopes (filtered by
  // the token request's `scope` when sent); "requested" = Logto's exact rule, role scopes ∩ (the
  // `scope` parameter, else the refresh token's scopes).
  organization_token_scopes: 'roles',
  // The extended claims the tenant's ID token settings enable: Logto's default for a tenant
  // (schemas/src/seeds/logto-config.ts createDefaultIdTokenConfig). Userinfo has them all anyway.
  id_token_extended_claims: ['roles', 'organizations', 'organization_roles'],
  // Renames members of userinfo (/oidc/me) responses: `{"<claim>": "<field name>"}`, e.g.
  // {"sub":"uid","email":"mail"} makes userinfo send `uid` and `mail` instead of `sub` and `email`
  // (a plain OAuth 2.0 provider with its own profile format). Empty: the claims' own names.
  userinfo_field_names: {},
};

const KNOWN_KEYS = new Set([...Object.keys(DEFAULTS), 'clients', 'users', 'resources']);

function fail(message) {
  throw new Error(`invalid IdP configuration: ${message}`);
}

/** Merges `items` into `defaults`, replacing the entries whose `key` matches. */
function mergeBy(defaults, items, key, what) {
  if (items === undefined) return structuredClone(defaults);
  if (!Array.isArray(items)) fail(`"${what}" must be an array`);
  const merged = new Map(defaults.map((item) => [item[key], structuredClone(item)]));
  for (const item of items) {
    if (!item || typeof item[key] !== 'string') fail(`every entry of "${what}" needs a string "${key}"`);
    merged.set(item[key], structuredClone(item));
  }
  return [...merged.values()];
}

function integerAtLeast(value, min, name) {
  if (!Number.isInteger(value) || value < min) fail(`"${name}" must be an integer >= ${min}`);
  return value;
}

/**
 * Builds the effective configuration from the user-supplied JSON object (or undefined).
 * Returns { signing_alg, access_token_ttl, id_token_ttl, refresh_token_ttl,
 *           refresh_token_reuse_grace_seconds, organization_token_scopes, id_token_extended_claims,
 *           userinfo_field_names,
 *           clients, users, resources }.
 */
export function loadConfig(input = {}) {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) fail('must be a JSON object');
  for (const key of Object.keys(input)) {
    if (!KNOWN_KEYS.has(key)) fail(`unknown key "${key}" (known: ${[...KNOWN_KEYS].join(', ')})`);
  }

  const config = { ...DEFAULTS };
  for (const key of Object.keys(DEFAULTS)) {
    if (input[key] !== undefined) config[key] = input[key];
  }
  if (!SIGNING_ALGS.includes(config.signing_alg)) {
    fail(`"signing_alg" must be one of ${SIGNING_ALGS.join(', ')}`);
  }
  for (const key of ['access_token_ttl', 'id_token_ttl', 'refresh_token_ttl']) {
    integerAtLeast(config[key], 1, key);
  }
  integerAtLeast(config.refresh_token_reuse_grace_seconds, 0, 'refresh_token_reuse_grace_seconds');
  if (!['roles', 'requested'].includes(config.organization_token_scopes)) {
    fail('"organization_token_scopes" must be "roles" or "requested"');
  }
  if (!Array.isArray(config.id_token_extended_claims)
    || !config.id_token_extended_claims.every((claim) => EXTENDED_CLAIMS.includes(claim))) {
    fail(`"id_token_extended_claims" must be an array of ${EXTENDED_CLAIMS.join(', ')}`);
  }

  const names = config.userinfo_field_names;
  if (names === null || typeof names !== 'object' || Array.isArray(names)
    || !Object.values(names).every((name) => typeof name === 'string' && name)) {
    fail('"userinfo_field_names" must be an object of claim name → non-empty field name');
  }

  config.resources = mergeBy(DEFAULT_RESOURCES, input.resources, 'indicator', 'resources');
  for (const resource of config.resources) {
    if (!Array.isArray(resource.scopes)) fail(`resource ${resource.indicator} needs a "scopes" array`);
  }

  config.users = mergeBy(DEFAULT_USERS, input.users, 'username', 'users').map((user) => {
    if (typeof user.id !== 'string' || typeof user.password !== 'string') {
      fail(`user ${user.username} needs string "id" and "password"`);
    }
    for (const claim of DERIVED_CLAIMS) {
      if (user[claim] !== undefined) {
        fail(`user ${user.username}: "${claim}" is not configurable (Logto derives it from the address or number being set)`);
      }
    }
    return {
      api_scopes: [],
      organizations: [],
      created_at: CREATED_AT_MS,
      updated_at: CREATED_AT_MS,
      ...user,
    };
  });

  config.clients = mergeBy(DEFAULT_CLIENTS, input.clients, 'client_id', 'clients')
    .map((client) => ({ ...CLIENT_DEFAULTS, ...client }));
  for (const client of config.clients) {
    if (client.pkce_required !== undefined && typeof client.pkce_required !== 'boolean') {
      fail(`client ${client.client_id}: "pkce_required" must be a boolean`);
    }
  }

  return config;
}

/** The claim values of a user (everything that is not bookkeeping). */
export function userClaimValues(user) {
  return Object.fromEntries(Object.entries(user).filter(([key]) => !USER_META_KEYS.has(key)));
}
