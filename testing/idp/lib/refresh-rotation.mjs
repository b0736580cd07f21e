// Whether a refresh rotates the refresh token: a test switch used by refresh-grant.mjs.
//
// By default every refresh rotates it. A client whose entry under `clients` in the IdP
// configuration has `"refresh_token_rotation": "logto"` gets Logto's rule instead (Logto's
// packages/core/src/oidc/defaults.ts, `rotateRefreshToken`, which is oidc-provider's default):
//   - a public client (token_endpoint_auth_method "none") gets a new refresh token every time;
//   - any other client (a traditional web app) gets the same refresh token back, unconsumed,
//     until 70 % of its lifetime has passed, and a new one from then on;
//   - a refresh token whose chain is a year old or more no longer rotates.
// Example: {"clients":[{"client_id":"web-app","client_secret":"web-app-secret",
//           "token_endpoint_auth_method":"client_secret_basic","refresh_token_rotation":"logto"}]}
// oidc-provider drops client metadata it does not know, so the switch is read from the IdP
// configuration here.

const MODES = ['always', 'logto'];

export function rotatesRefreshToken(idp, client, refreshToken) {
  const entry = idp.config.clients.find((c) => c.client_id === client.clientId);
  const mode = entry?.refresh_token_rotation ?? 'always';
  if (!MODES.includes(mode)) {
    throw new Error(`client ${client.clientId}: refresh_token_rotation must be one of ${MODES.join(', ')}`);
  }
  if (mode === 'always') return true;
  if (refreshToken.totalLifetime() >= 365.25 * 24 * 60 * 60) return false;
  if (client.clientAuthMethod === 'none' && !refreshToken.isSenderConstrained()) return true;
  return refreshToken.ttlPercentagePassed() >= 70;
}
