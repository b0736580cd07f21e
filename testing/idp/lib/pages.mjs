// The few HTML pages the IdP shows. Kept minimal and script-free except for the logout page,
// which auto-submits like Logto's. Stable element ids let browser tests drive them.

export const escapeHtml = (value) => String(value)
  .replaceAll('&', '&amp;')
  .replaceAll('<', '&lt;')
  .replaceAll('>', '&gt;')
  .replaceAll('"', '&quot;')
  .replaceAll("'", '&#39;');

const layout = (title, body) => `<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${escapeHtml(title)}</title>
<style>body{font-family:sans-serif;max-width:28rem;margin:2rem auto}label{display:block;margin:.5rem 0}
input{width:100%}#error{color:#b00}pre{background:#eee;padding:.5rem;white-space:pre-wrap}</style>
</head>
<body>
${body}
</body>
</html>
`;

// Authorization request parameters the login page echoes in <pre id="params">.
const ECHOED_PARAMS = [
  'interaction_mode', 'first_screen', 'identifier', 'direct_sign_in', 'organization_id',
  'login_hint', 'ui_locales', 'prompt', 'one_time_token',
];

/**
 * The sign-in page: `form#login-form` posting `username` and `password` to
 * `/interaction/<uid>/login`, an optional `#error`, and the Logto-specific request parameters as
 * JSON in `pre#params`.
 */
export function loginPage({ uid, clientId, params, username = '', error }) {
  const echoed = Object.fromEntries(ECHOED_PARAMS.filter((name) => params[name] !== undefined)
    .map((name) => [name, params[name]]));
  return layout('Sign in', `<h1>Sign in</h1>
<p>to <span id="client-id">${escapeHtml(clientId)}</span> (logto-rs test IdP)</p>
${error ? `<p id="error" role="alert">${escapeHtml(error)}</p>` : ''}
<form id="login-form" method="post" action="/interaction/${escapeHtml(uid)}/login" autocomplete="off">
<label for="username">Username</label>
<input id="username" name="username" type="text" value="${escapeHtml(username)}" required ${username ? '' : 'autofocus'}>
<label for="password">Password</label>
<input id="password" name="password" type="password" required ${username ? 'autofocus' : ''}>
<p><button type="submit" id="submit">Sign in</button></p>
</form>
<p><a id="cancel" href="/interaction/${escapeHtml(uid)}/abort">Cancel</a></p>
<pre id="params">${escapeHtml(JSON.stringify(echoed, null, 2))}</pre>`);
}

/** A plain error page (unknown/expired interaction, …). */
export function errorPage(title, detail) {
  return layout(title, `<h1>${escapeHtml(title)}</h1>\n<p id="error">${escapeHtml(detail)}</p>`);
}

/**
 * oidc-provider `rpInitiatedLogout.logoutSource`: like Logto, the confirmation is submitted
 * automatically. `form` is oidc-provider's `form#op.logoutForm` (with its xsrf field); the
 * `logout=yes` field is added to it so that plain HTTP clients can just post the form as is.
 */
export async function logoutSource(ctx, form) {
  const withLogout = form.replace('</form>', '<input type="hidden" name="logout" value="yes"/></form>');
  ctx.type = 'html';
  ctx.body = layout('Signing out', `<h1>Signing out…</h1>
${withLogout}
<noscript><button type="submit" form="op.logoutForm">Continue</button></noscript>
<script>document.forms['op.logoutForm'].submit()</script>`);
}

/** oidc-provider `rpInitiatedLogout.postLogoutSuccessSource` (no post_logout_redirect_uri). */
export async function postLogoutSuccessSource(ctx) {
  ctx.type = 'html';
  ctx.body = layout('Signed out', '<h1 id="signed-out">You are signed out.</h1>');
}
