#!/usr/bin/env node
// Browser test of the Leptos sample (examples/leptos): headless Chromium driven by playwright-core,
// signing in on the real Logto's sign-in page. The app, the API it calls and Logto must already
// run; examples/leptos/tests/app.rs starts them on free ports and runs this script with:
//
//   APP_URL       the app's base URL (http://127.0.0.1:PORT)
//   IDP_URL       Logto's endpoint
//   USERNAME, PASSWORD   the user to sign in with (with the API's `shopping:read`)
//   SUB           that user's id
//   RESOURCE      the API resource indicator of the access tokens the app sends the API
//   SCREENSHOT    where to save the screenshot of the signed-in page with the API's answer
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
//
// Every response the browser receives (pages, redirects, Logto's pages and API calls) is checked:
// none carries an access token for RESOURCE, and none from the app carries any token at all.
// Prints one line per step; exits non-zero (with a screenshot next to SCREENSHOT) on failure.

import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

import { check, env, launch, log } from './browser.mjs';

const APP_URL = env('APP_URL').replace(/\/$/, '');
const IDP_URL = env('IDP_URL').replace(/\/$/, '');
const USERNAME = env('USERNAME');
const PASSWORD = env('PASSWORD');
const SUB = env('SUB');
const RESOURCE = env('RESOURCE');
const SCREENSHOT = env('SCREENSHOT', 'testing/artifacts/leptos-signed-in.png');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: install Chromium with \`apt-get install -y chromium\``);
  process.exit(2);
}

const JWT = /eyJ[A-Za-z0-9_-]+\.eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g;

/** The payload of a JWT, or null. */
const payloadOf = (jwt) => {
  try {
    return JSON.parse(Buffer.from(jwt.split('.')[1], 'base64url').toString('utf8'));
  } catch {
    return null;
  }
};

/** Throws when `text`, received from `url`, holds a token it must not. */
const checkNoToken = (url, text) => {
  for (const jwt of text.match(JWT) ?? []) {
    const aud = payloadOf(jwt)?.aud;
    const audiences = Array.isArray(aud) ? aud : [aud];
    check(!audiences.includes(RESOURCE), `${url} sent the browser an access token for ${RESOURCE}`);
    check(!url.startsWith(APP_URL), `${url} sent the browser a token (aud ${aud})`);
  }
};

const { context, page, close } = await launch();

// Every response the browser receives, with its headers and body.
const seen = [];
const reading = [];
context.on('response', (response) => {
  reading.push((async () => {
    let body = '';
    let read = true;
    try {
      body = await response.text();
    } catch {
      // redirects have no body
      read = false;
    }
    const headers = JSON.stringify(await response.allHeaders().catch(() => ({})));
    seen.push({ url: response.url(), status: response.status(), read, text: `${headers}\n${body}` });
  })());
});

let step = 'start';
try {
  step = 'signed-out page';
  await page.goto(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  log('the page shows the signed-out state');

  step = 'sign in on Logto\'s sign-in page';
  await page.click('#sign-in');
  await page.waitForURL((url) => url.href.startsWith(`${IDP_URL}/sign-in`));
  await page.locator('input[name="identifier"]').fill(USERNAME);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await page.locator('button[name="submit"]').click();
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-in').waitFor();
  log(`signed in on Logto's page as ${USERNAME}`);

  step = 'claims from get_claims';
  const claims = JSON.parse(await page.locator('#claims').textContent());
  check(claims.sub === SUB, `the claims are not ${USERNAME}'s: ${JSON.stringify(claims)}`);
  check(claims.username === USERNAME, `username claim ${claims.username}`);
  check(claims.iss === `${IDP_URL}/oidc`, `issuer ${claims.iss}`);
  check((await page.locator('#user').textContent()) === USERNAME, 'the page does not greet the user');
  log('the page shows the ID-token claims from the server function get_claims');

  step = 'API answer from call_api';
  await page.click('#call-api');
  await page.waitForURL(`${APP_URL}/?call=api`);
  const answer = JSON.parse(await page.locator('#api-answer').textContent());
  check(answer.owner === SUB, `the API saw another user: ${JSON.stringify(answer)}`);
  check(Array.isArray(answer.items) && answer.items.length > 0, `no items: ${JSON.stringify(answer)}`);
  log(`the page shows the API's answer from the server function call_api: ${answer.items.length} items for ${answer.owner}`);

  step = 'screenshot';
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  log(`screenshot saved to ${SCREENSHOT}`);

  step = 'the server functions\' endpoints from the page';
  const fromPage = await page.evaluate(async () => {
    const post = async (name) => {
      const response = await fetch(`/api/${name}`, {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      });
      return { status: response.status, body: await response.json() };
    };
    return { claims: await post('get_claims'), api: await post('call_api') };
  });
  check(fromPage.claims.status === 200 && fromPage.claims.body.sub === SUB, `get_claims: ${JSON.stringify(fromPage.claims)}`);
  check(fromPage.api.status === 200 && fromPage.api.body.owner === SUB, `call_api: ${JSON.stringify(fromPage.api)}`);
  log('fetch() of /api/get_claims and /api/call_api from the page answers the claims and the API\'s answer');

  step = 'session cookie';
  const cookie = (await context.cookies(APP_URL)).find((c) => c.name === 'logto_session');
  check(cookie && cookie.httpOnly, 'no HttpOnly logto_session cookie');
  check(cookie.value.length < 100, 'the session cookie carries more than an id');
  const html = await page.content();
  checkNoToken(`${APP_URL}/?call=api (the page's HTML)`, html);
  log('the session cookie is HttpOnly and holds only an id');

  step = 'sign out';
  await page.click('#sign-out');
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  const left = (await context.cookies(APP_URL)).find((c) => c.name === 'logto_session');
  check(!left, 'the session cookie is still there after sign-out');
  const after = await page.evaluate(async () => {
    const response = await fetch('/api/get_claims', { method: 'POST', headers: { accept: 'application/json' } });
    return { status: response.status, body: await response.json() };
  });
  check(after.status === 401 && after.body === 'NotSignedIn', `get_claims after sign-out: ${JSON.stringify(after)}`);
  log('signed out: the page shows the signed-out state, get_claims answers 401 "NotSignedIn"');

  step = 'no token reached the browser';
  await Promise.all(reading);
  const fromApp = seen.filter((r) => r.url.startsWith(APP_URL));
  check(fromApp.length >= 8, `only ${fromApp.length} responses from the app were seen`);
  for (const { url, text } of seen) checkNoToken(url, text);
  const unread = fromApp.filter((r) => !r.read && (r.status < 300 || r.status >= 400));
  check(unread.length === 0, `the bodies of ${unread.map((r) => r.url).join(', ')} could not be read`);
  log(`no token in the ${seen.length} responses the browser received (${fromApp.length} from the app)`);
  console.log('e2e: ok');
} catch (error) {
  console.error(`e2e: FAILED at step "${step}": ${error.message}`);
  console.error(`e2e: page URL ${page.url()}`);
  try {
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '') + '-failure.png', fullPage: true });
  } catch {
    // the page may be gone
  }
  process.exitCode = 1;
} finally {
  await close();
}
