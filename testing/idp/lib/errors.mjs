// Logto's error bodies for oidc-provider errors: packages/core/src/middleware/
// koa-oidc-error-handler.ts, which wraps Logto's whole oidc-provider app. Every JSON error body
// `{error, error_description?, scope?}` with a status >= 400 becomes
//   {code, message, error_uri?, error, error_description?, scope?}
// where `code` is `oidc.<error>` (or `session.not_found`), `message` is Logto's English phrase
// for that code (packages/phrases/src/locales/en/errors/oidc.ts, session.ts) and `error_uri` is
// only set for invalid_grant. `?parse_error=false` on the request keeps oidc-provider's body.

/** Logto's English phrases, by code. */
const PHRASES = {
  'oidc.aborted': 'The end-user aborted interaction.',
  // i18next is called with `{ code }` only: these placeholders stay as they are in the message.
  'oidc.invalid_scope': 'Invalid scope: {{error_description}}.',
  'oidc.invalid_token': 'Invalid token provided.',
  'oidc.invalid_client_metadata': 'Invalid client metadata provided.',
  'oidc.insufficient_scope': 'Token missing scope `{{scope}}`.',
  'oidc.invalid_request': 'Request is invalid.',
  'oidc.invalid_grant': 'Grant request is invalid.',
  'oidc.invalid_issuer': 'Invalid issuer.',
  'oidc.invalid_redirect_uri': "`redirect_uri` did not match any of the client's registered `redirect_uris`.",
  'oidc.access_denied': 'Access denied.',
  'oidc.invalid_target': 'Invalid resource indicator.',
  'oidc.unsupported_grant_type': 'Unsupported `grant_type` requested.',
  'oidc.unsupported_response_mode': 'Unsupported `response_mode` requested.',
  'oidc.unsupported_response_type': 'Unsupported `response_type` requested.',
  'oidc.provider_error': 'OIDC Internal Error: {{message}}.',
  'oidc.server_error': 'An unknown OIDC error occurred. Please try again later.',
  'oidc.key_required': 'At least one key is required.',
  'oidc.key_not_found': 'Key with ID {{id}} is not found.',
  'oidc.invalid_session_payload': 'Invalid session payload.',
  'oidc.session_not_found': 'Session not found.',
  'oidc.invalid_session_account_id': 'Session accountId mismatch.',
  'oidc.failed_to_revoke_grant': 'Failed to revoke grant.',
  'oidc.failed_to_cleanup_session_authorization': 'Failed to clean up session authorization.',
  'session.not_found': 'Session not found. Please go back and sign in again.',
};

/** `errors:oidc.provider_error_fallback`, interpolated with the code. */
const fallback = (code) => `An OIDC error occurred: ${code}.`;

/** Supplementary URIs (koa-oidc-error-handler.ts `errorUris`). */
const ERROR_URIS = { invalid_grant: 'https://openid.sh/debug/invalid_grant' };

const isSessionNotFound = (description) => Boolean(
  ['session', 'not found'].every((word) => description?.includes(word))
    || description?.includes('authorization request has expired'),
);

/** The body Logto sends for oidc-provider's error body `body`. */
export function logtoErrorBody(body) {
  const code = isSessionNotFound(body.error_description) ? 'session.not_found' : `oidc.${body.error}`;
  const errorUri = ERROR_URIS[body.error];
  return {
    code,
    message: PHRASES[code] ?? fallback(code),
    ...(errorUri ? { error_uri: errorUri } : {}),
    ...body,
  };
}

const isErrorBody = (body) => body !== null && typeof body === 'object' && !Array.isArray(body)
  && !Buffer.isBuffer(body) && typeof body.pipe !== 'function'
  && typeof body.error === 'string'
  && (body.error_description === undefined || typeof body.error_description === 'string');

/** Koa middleware (inside oidc-provider's app, around its routes). */
export async function logtoErrorBodies(ctx, next) {
  await next();
  if (ctx.status >= 400 && ctx.query.parse_error !== 'false' && isErrorBody(ctx.body)) {
    ctx.body = logtoErrorBody(ctx.body);
  }
}
