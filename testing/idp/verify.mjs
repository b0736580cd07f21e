#!/usr/bin/env node
// End-to-end self-check of the test IdP over plain HTTP (fetch + a tiny cookie jar):
// discovery, code flow with PKCE + auto consent, claims, userinfo, refresh with resource,
// organization tokens, refresh token reuse detection, key rotation, the admin endpoints.
//
//   node testing/idp/verify.mjs        (starts its own IdP on a free port)

import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as crypto from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';

const SERVER = fileURLToPath(new URL('./server.mjs', import.meta.url));
const SHOPPING = 'https://shopping.example.com/api';
const STORE = 'https://store.example.com/api';

const b64json = (segment) => JSON.parse(Buffer.from(segment, 'base64url').toString());
const decodeJwt = (jwt) => {
  const [h, p] = jwt.split('.');
  return { header: b64json(h), payload: b64json(p) };
};

async function startIdp(config) {
  const child = spawn(process.execPath, [SERVER, ...(config ? ['--config', JSON.stringify(config)] : [])], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const started = Date.now();
  const line = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`IdP exited with ${code}`)));
  });
  const ready = JSON.parse(line);
  console.error(`IdP ready in ${Date.now() - started} ms at ${ready.base_url}`);
  return { ...ready, child };
}

/** A cookie jar honouring cookie paths, enough for one host. */
class Browser {
  cookies = new Map(); // name -> { value, path }

  constructor(base) {
    this.base = base;
  }

  async fetch(url, init = {}) {
    const target = new URL(url, this.base);
    const cookie = [...this.cookies.entries()]
      .filter(([, c]) => target.pathname.startsWith(c.path))
      .map(([name, c]) => `${name}=${c.value}`)
      .join('; ');
    const res = await fetch(target, { ...init, redirect: 'manual', headers: { ...init.headers, ...(cookie ? { cookie } : {}) } });
    for (const header of res.headers.getSetCookie()) {
      const [pair, ...attrs] = header.split(';').map((s) => s.trim());
      const [name, value] = [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)];
      const path = attrs.find((a) => a.toLowerCase().startsWith('path='))?.slice(5) ?? '/';
      const expires = attrs.find((a) => a.toLowerCase().startsWith('expires='));
      if (expires && new Date(expires.slice(8)) < new Date()) this.cookies.delete(name);
      else this.cookies.set(name, { value, path });
    }
    return res;
  }

  /** Follows redirects on the IdP, signing in when the login page shows; returns the app URL. */
  async signIn(authorizationUrl, username, password) {
    let url = authorizationUrl;
    let res = await this.fetch(url);
    for (let hops = 0; hops < 20; hops++) {
      if (res.status >= 300 && res.status < 400) {
        url = new URL(res.headers.get('location'), url).href;
        if (!url.startsWith(this.base)) return url;
        res = await this.fetch(url);
        continue;
      }
      const html = await res.text();
      assert.equal(res.status, 200, `unexpected ${res.status} at ${url}: ${html}`);
      const action = html.match(/<form id="login-form" method="post" action="([^"]+)"/)?.[1];
      assert.ok(action, `no login form at ${url}: ${html}`);
      assert.ok(!html.includes('id="error"') || hops < 3, 'login failed');
      res = await this.fetch(action, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams({ username, password }),
      });
      url = new URL(action, url).href;
    }
    throw new Error('too many redirects');
  }
}

function pkce() {
  const verifier = crypto.randomBytes(32).toString('base64url');
  const challenge = crypto.createHash('sha256').update(verifier).digest('base64url');
  return { verifier, challenge };
}

function authorizationUrl(issuer, { clientId = 'web-app', scope, resources = [], extra = {}, challenge }) {
  const url = new URL(`${issuer}/auth`);
  const params = {
    client_id: clientId,
    redirect_uri: 'http://127.0.0.1:4567/callback',
    response_type: 'code',
    scope,
    prompt: 'consent',
    state: 'st-1',
    nonce: 'n-1',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    ...extra,
  };
  for (const [k, v] of Object.entries(params)) url.searchParams.append(k, v);
  for (const r of resources) url.searchParams.append('resource', r);
  return url.href;
}

async function token(issuer, params, { clientId = 'web-app', secret = 'web-app-secret' } = {}) {
  const headers = { 'content-type': 'application/x-www-form-urlencoded' };
  const body = new URLSearchParams(params);
  if (secret) headers.authorization = `Basic ${Buffer.from(`${clientId}:${secret}`).toString('base64')}`;
  else body.set('client_id', clientId);
  const res = await fetch(`${issuer}/token`, { method: 'POST', headers, body });
  return { status: res.status, body: await res.json() };
}

async function main() {
  const idp = await startIdp();
  const { base_url: base, issuer } = idp;
  try {
    const discovery = await (await fetch(`${issuer}/.well-known/openid-configuration`)).json();
    assert.equal(discovery.issuer, issuer);
    assert.equal(discovery.userinfo_endpoint, `${issuer}/me`);
    assert.deepEqual(discovery.id_token_signing_alg_values_supported, ['ES384']);
    const jwks = await (await fetch(discovery.jwks_uri)).json();
    assert.equal(jwks.keys.length, 1);

    // --- Code flow with PKCE, consent, resources, organizations ---
    const { verifier, challenge } = pkce();
    const scope = [
      'openid', 'offline_access', 'profile', 'email', 'phone', 'address', 'custom_data', 'identities', 'roles',
      'urn:logto:scope:organizations', 'urn:logto:scope:organization_roles',
      'shopping:read', 'shopping:write', 'store:read', 'store:write',
    ].join(' ');
    const url = authorizationUrl(issuer, {
      scope, challenge, resources: [SHOPPING, STORE, 'urn:logto:resource:organizations'],
      extra: { login_hint: 'alice', first_screen: 'register', organization_id: 'org-acme' },
    });

    const browser = new Browser(base);
    // The login page shows the Logto parameters and the login hint.
    const first = await browser.fetch(url);
    const page = await browser.fetch(new URL(first.headers.get('location'), base));
    const html = await page.text();
    assert.match(html, /<input id="username" name="username" type="text" value="alice"/);
    assert.match(html, /&quot;first_screen&quot;: &quot;register&quot;/);
    // Wrong password: the page again, with an error.
    const action = html.match(/action="([^"]+)"/)[1];
    const wrong = await browser.fetch(action, {
      method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ username: 'alice', password: 'nope' }),
    });
    assert.equal(wrong.status, 200);
    assert.match(await wrong.text(), /id="error"/);

    const callback = new URL(await browser.signIn(url, 'alice', 'alice-password'));
    assert.equal(callback.origin + callback.pathname, 'http://127.0.0.1:4567/callback');
    assert.equal(callback.searchParams.get('state'), 'st-1');
    assert.equal(callback.searchParams.get('iss'), issuer);
    const code = callback.searchParams.get('code');
    assert.ok(code, `no code: ${callback}`);

    const last = await (await fetch(`${base}/__test/last-authorization-request`)).json();
    assert.deepEqual(last.resource, [SHOPPING, STORE, 'urn:logto:resource:organizations']);
    assert.equal(last.first_screen, 'register');

    const exchange = await token(issuer, {
      grant_type: 'authorization_code', code, redirect_uri: 'http://127.0.0.1:4567/callback', code_verifier: verifier,
    });
    assert.equal(exchange.status, 200, JSON.stringify(exchange.body));
    const tokens = exchange.body;
    console.error('code exchange scope:', tokens.scope);
    assert.ok(tokens.refresh_token, 'refresh token');
    const idToken = decodeJwt(tokens.id_token);
    assert.deepEqual(Object.keys(idToken.header), ['alg', 'typ', 'kid']);
    assert.equal(idToken.header.alg, 'ES384');
    assert.equal(idToken.header.typ, 'JWT');
    assert.equal(idToken.header.kid, jwks.keys[0].kid);
    const claims = idToken.payload;
    assert.equal(claims.sub, 'user-alice');
    assert.equal(claims.nonce, 'n-1');
    // at_hash (OIDC Core §3.1.3.6), as Logto's oidc-provider fork writes it: ES384 → SHA-384.
    const sha384 = crypto.createHash('sha384').update(tokens.access_token).digest();
    assert.equal(claims.at_hash, sha384.subarray(0, 24).toString('base64url'));
    // The address members keep Logto's camelCase names.
    assert.equal(claims.address.streetAddress, '1 Rabbit Hole');
    assert.equal(claims.address.postalCode, '12345');
    assert.equal(claims.aud, 'web-app');
    assert.equal(claims.username, 'alice');
    assert.equal(claims.email, 'alice@example.com');
    assert.equal(claims.email_verified, true);
    assert.equal(claims.phone_number_verified, true);
    assert.equal(claims.created_at, 1704164645678);
    assert.deepEqual(claims.roles, ['admin']);
    assert.deepEqual(claims.organizations, ['org-acme', 'org-globex']);
    assert.deepEqual(claims.organization_roles, ['org-acme:admin', 'org-globex:member']);
    for (const userinfoOnly of ['custom_data', 'identities', 'sso_identities', 'organization_data']) {
      assert.equal(claims[userinfoOnly], undefined, `${userinfoOnly} must not be in the ID token`);
    }
    assert.equal(decodeJwt(tokens.access_token.includes('.') ? tokens.access_token : 'e30.e30').payload.aud, undefined, 'opaque access token');

    // Userinfo with the opaque token.
    const me = await (await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).json();
    assert.equal(me.sub, 'user-alice');
    assert.deepEqual(me.custom_data, { plan: 'pro', theme: 'dark' });
    assert.equal(me.identities.github.userId, 'gh-1');
    assert.deepEqual(me.sso_identities, [{ issuer: 'https://sso.example.com', identityId: 'sso-1', detail: {} }]);
    assert.equal(me.organization_data[0].id, 'org-acme');

    // Refresh for a resource: a JWT access token.
    let refresh = tokens.refresh_token;
    const shopping = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, resource: SHOPPING });
    assert.equal(shopping.status, 200, JSON.stringify(shopping.body));
    assert.notEqual(shopping.body.refresh_token, refresh, 'rotation');
    refresh = shopping.body.refresh_token;
    const at = decodeJwt(shopping.body.access_token);
    assert.equal(at.header.typ, 'at+jwt');
    assert.equal(at.header.alg, 'ES384');
    assert.equal(at.payload.aud, SHOPPING);
    assert.equal(at.payload.scope, 'shopping:read shopping:write');
    assert.equal(at.payload.client_id, 'web-app');
    assert.equal(at.payload.iss, issuer);
    assert.deepEqual(Object.keys(at.payload).sort(), ['aud', 'client_id', 'exp', 'iat', 'iss', 'jti', 'scope', 'sub']);
    // Userinfo rejects it.
    const meJwt = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${shopping.body.access_token}` } });
    assert.equal(meJwt.status, 401);

    const store = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, resource: STORE });
    assert.equal(store.status, 200, JSON.stringify(store.body));
    refresh = store.body.refresh_token;
    assert.equal(decodeJwt(store.body.access_token).payload.scope, 'store:read');

    // A resource that was not granted.
    const notGranted = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, resource: 'https://nope.example.com' });
    assert.equal(notGranted.status, 400);
    assert.deepEqual(notGranted.body, {
      code: 'oidc.invalid_target',
      message: 'Invalid resource indicator.',
      error: 'invalid_target',
      error_description: 'resource indicator is missing, or unknown',
    });

    // Organization token.
    const org = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, organization_id: 'org-acme' });
    assert.equal(org.status, 200, JSON.stringify(org.body));
    refresh = org.body.refresh_token;
    const orgAt = decodeJwt(org.body.access_token);
    assert.equal(orgAt.header.typ, 'at+jwt');
    assert.equal(orgAt.payload.aud, 'urn:logto:organization:org-acme');
    assert.equal(orgAt.payload.scope, 'read:projects write:projects');
    // Logto adds `organization_id` only to organization-level API resource tokens.
    assert.equal(orgAt.payload.organization_id, undefined);

    const orgScoped = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, organization_id: 'org-acme', scope: 'read:projects' });
    assert.equal(orgScoped.status, 200, JSON.stringify(orgScoped.body));
    refresh = orgScoped.body.refresh_token;
    assert.equal(decodeJwt(orgScoped.body.access_token).payload.scope, 'read:projects');

    const orgResource = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, organization_id: 'org-acme', resource: SHOPPING });
    assert.equal(orgResource.status, 200, JSON.stringify(orgResource.body));
    refresh = orgResource.body.refresh_token;
    assert.equal(decodeJwt(orgResource.body.access_token).payload.aud, SHOPPING);
    assert.equal(decodeJwt(orgResource.body.access_token).payload.scope, 'shopping:read');
    assert.equal(decodeJwt(orgResource.body.access_token).payload.organization_id, 'org-acme');

    const notMember = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh, organization_id: 'org-nope' });
    assert.equal(notMember.status, 403);
    assert.equal(notMember.body.error, 'access_denied');

    // Reuse within the grace period is accepted; later it revokes the grant.
    const next = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh });
    assert.equal(next.status, 200);
    const graceReuse = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh });
    assert.equal(graceReuse.status, 200, 'reuse within grace accepted');
    console.error('waiting past the reuse grace period…');
    await new Promise((r) => setTimeout(r, 4200));
    const reuse = await token(issuer, { grant_type: 'refresh_token', refresh_token: refresh });
    assert.equal(reuse.status, 400);
    assert.deepEqual(reuse.body, {
      code: 'oidc.invalid_grant',
      message: 'Grant request is invalid.',
      error_uri: 'https://openid.sh/debug/invalid_grant',
      error: 'invalid_grant',
      error_description: 'grant request is invalid',
    });
    const afterRevoke = await token(issuer, { grant_type: 'refresh_token', refresh_token: next.body.refresh_token });
    assert.equal(afterRevoke.body.error, 'invalid_grant', 'grant revoked');
    const meRevoked = await fetch(`${issuer}/me`, { headers: { authorization: `Bearer ${next.body.access_token}` } });
    assert.equal(meRevoked.status, 401, 'opaque access token revoked with the grant');

    // Key rotation.
    const oldKid = jwks.keys[0].kid;
    const { kid } = await (await fetch(`${base}/__test/rotate-keys`, { method: 'POST', body: JSON.stringify({ alg: 'RS256', keep_old: true }) })).json();
    const rotated = await (await fetch(`${issuer}/jwks`)).json();
    assert.deepEqual(rotated.keys.map((k) => k.kid), [kid, oldKid]);

    // Sign in again (bob, public client) with the rotated key: session, tokens signed with new kid.
    const p2 = pkce();
    const bobUrl = authorizationUrl(issuer, { clientId: 'public-app', scope: 'openid offline_access profile shopping:read store:read', challenge: p2.challenge, resources: [SHOPPING, STORE] });
    const bobCallback = new URL(await new Browser(base).signIn(bobUrl, 'bob', 'bob-password'));
    const bobTokens = await token(issuer, {
      grant_type: 'authorization_code', code: bobCallback.searchParams.get('code'), redirect_uri: 'http://127.0.0.1:4567/callback', code_verifier: p2.verifier, resource: SHOPPING,
    }, { clientId: 'public-app', secret: null });
    assert.equal(bobTokens.status, 200, JSON.stringify(bobTokens.body));
    // The code exchange with a resource gives that resource's JWT (bob's role: shopping:read).
    const bobShopping = decodeJwt(bobTokens.body.access_token);
    assert.equal(bobShopping.payload.aud, SHOPPING);
    assert.equal(bobShopping.payload.scope, 'shopping:read');
    assert.equal(bobShopping.header.kid, kid);
    const bobId = decodeJwt(bobTokens.body.id_token);
    assert.equal(bobId.header.kid, kid);
    assert.equal(bobId.header.alg, 'RS256');
    assert.equal(bobId.payload.name, null);
    assert.equal(bobId.payload.created_at, 1704164645678, 'created_at is never null in Logto');
    const bobStore = await token(issuer, { grant_type: 'refresh_token', refresh_token: bobTokens.body.refresh_token, resource: STORE }, { clientId: 'public-app', secret: null });
    assert.equal(bobStore.status, 200, JSON.stringify(bobStore.body));
    assert.equal(decodeJwt(bobStore.body.access_token).payload.scope, '');
    const bobOrg = await token(issuer, { grant_type: 'refresh_token', refresh_token: bobStore.body.refresh_token, organization_id: 'org-acme' }, { clientId: 'public-app', secret: null });
    assert.equal(bobOrg.status, 403);

    await fetch(`${base}/__test/rotate-keys`, { method: 'POST', body: JSON.stringify({ keep_old: false }) });
    const replaced = await (await fetch(`${issuer}/jwks`)).json();
    assert.equal(replaced.keys.length, 1);
    assert.equal(replaced.keys[0].alg, 'RS256');

    // Token response override + sign.
    const signed = await (await fetch(`${base}/__test/sign`, { method: 'POST', body: JSON.stringify({ payload: { iss: 'x' } }) })).json();
    assert.equal(decodeJwt(signed.token).header.kid, replaced.keys[0].kid);
    const stats = await (await fetch(`${base}/__test/stats`)).json();
    console.error('stats:', JSON.stringify(stats));
    assert.equal(stats.authorization_code_grants, 2);
    assert.ok(stats.refresh_token_grants >= 10);

    console.error('verify: all checks passed');
  } finally {
    idp.child.stdin.end();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
