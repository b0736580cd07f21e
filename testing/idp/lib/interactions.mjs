// The interaction (sign-in) routes, outside the /oidc mount:
//   GET  /interaction/:uid        login prompt → the sign-in page; consent prompt → auto-granted
//   POST /interaction/:uid/login  checks the credentials (wrong → the page again, with #error)
//   GET  /interaction/:uid/abort  ends the interaction with Logto's oidc.aborted error
//
// Consent is never shown: like a Logto first-party app, the requested OIDC scopes are granted,
// and each requested resource gets requested scopes ∩ its scopes ∩ the user's role scopes (the
// rest is recorded as rejected so oidc-provider does not prompt again).

import { errorPage, loginPage } from './pages.mjs';
import { readBody, sendHtml } from './http.mjs';

const ROUTE = /^\/interaction\/([^/]+)(\/login|\/abort)?$/;

export function isInteractionPath(pathname) {
  return ROUTE.test(pathname);
}

async function autoConsent(idp, provider, req, res, interaction) {
  const { prompt: { details }, params, session, grantId } = interaction;
  const user = idp.accounts.byId(session.accountId);
  const grant = (grantId && await provider.Grant.find(grantId))
    || new provider.Grant({ accountId: session.accountId, clientId: params.client_id });

  if (details.missingOIDCScope) grant.addOIDCScope(details.missingOIDCScope.join(' '));
  if (details.missingOIDCClaims) grant.addOIDCClaims(details.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(details.missingResourceScopes ?? {})) {
    const allowed = user ? idp.accounts.roleScopesFor(user, indicator) : new Set();
    const granted = scopes.filter((scope) => allowed.has(scope));
    const rejected = scopes.filter((scope) => !allowed.has(scope));
    if (granted.length) grant.addResourceScope(indicator, granted.join(' '));
    if (rejected.length) grant.rejectResourceScope(indicator, rejected.join(' '));
  }

  const savedGrantId = await grant.save();
  await provider.interactionFinished(req, res, { consent: { grantId: savedGrantId } }, { mergeWithLastSubmission: true });
}

export async function handleInteraction(idp, req, res, pathname) {
  const [, , action] = pathname.match(ROUTE);
  const { provider } = idp;

  let interaction;
  try {
    interaction = await provider.interactionDetails(req, res);
  } catch (error) {
    sendHtml(res, 400, errorPage('Sign-in session not found', `${error.name}: ${error.error_description ?? error.message}`));
    return;
  }
  const { uid, prompt, params } = interaction;

  if (action === '/abort' && req.method === 'GET') {
    // Logto's cancellation (DELETE /api/interaction, routes/interaction/index.ts): the result
    // `{ error: 'oidc.aborted' }`, so the client gets `error=oidc.aborted` and no description.
    await provider.interactionFinished(req, res, { error: 'oidc.aborted' }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === '/login' && req.method === 'POST') {
    const form = new URLSearchParams(await readBody(req));
    const username = form.get('username') ?? '';
    const user = idp.accounts.authenticate(username, form.get('password') ?? '');
    if (!user) {
      sendHtml(res, 200, loginPage({
        uid, clientId: params.client_id, params, username, error: 'Wrong username or password.',
      }));
      return;
    }
    await provider.interactionFinished(req, res, {
      login: { accountId: user.id },
    }, { mergeWithLastSubmission: false });
    return;
  }

  if (action === undefined && req.method === 'GET') {
    if (prompt.name === 'consent') {
      await autoConsent(idp, provider, req, res, interaction);
      return;
    }
    sendHtml(res, 200, loginPage({ uid, clientId: params.client_id, params, username: params.login_hint ?? '' }));
    return;
  }

  sendHtml(res, 405, errorPage('Method not allowed', `${req.method} ${pathname}`));
}
