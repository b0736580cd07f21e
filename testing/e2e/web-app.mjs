#!/usr/bin/env node
// Browser test of the sample web app: headless Chromium (Debian's /usr/bin/chromium) driven by
// playwright-core, signing in on the real Logto's sign-in page. The app and Logto must already
// run; examples/web-app/tests/browser.rs starts the app on a free port and runs this script with:
//
//   APP_URL       the app's base URL (http://127.0.0.1:PORT)
//   IDP_URL       Logto's endpoint
//   USERNAME, PASSWORD   the user to sign in with
//   RESOURCE      an API resource indicator the app is configured with
//   ORGANIZATION  an organization of the user
//   SCREENSHOT    where to save the screenshot of the signed-in home page; Logto's sign-in page
//                 goes next to it (`…-logto-sign-in.png`)
//   CHROMIUM      the browser binary (default /usr/bin/chromium)
//
// Prints one line per step; exits non-zero (with a screenshot next to SCREENSHOT) on failure.

import { mkdir } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { dirname } from 'node:path';

import { check, env, jsonOf, launch, log } from './browser.mjs';

const APP_URL = env('APP_URL').replace(/\/$/, '');
const IDP_URL = env('IDP_URL').replace(/\/$/, '');
const USERNAME = env('USERNAME', 'alice');
const PASSWORD = env('PASSWORD', 'alice-password');
const RESOURCE = env('RESOURCE', 'https://shopping.example.com/api');
const ORGANIZATION = env('ORGANIZATION', 'org-acme');
const SCREENSHOT = env('SCREENSHOT', 'testing/artifacts/web-app-signed-in.png');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');

if (!existsSync(CHROMIUM)) {
  console.error(`${CHROMIUM} not found: install Chromium with \`apt-get install -y chromium\``);
  process.exit(2);
}

const { context, page, close } = await launch();

let step = 'start';
try {
  step = 'signed-out home page';
  await page.goto(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  log('home page shows the signed-out state');

  step = 'sign in on Logto\'s sign-in page';
  await page.click('#sign-in');
  await page.waitForURL((url) => url.href.startsWith(`${IDP_URL}/sign-in`));
  await page.locator('input[name="identifier"]').fill(USERNAME);
  await page.locator('input[name="password"]').fill(PASSWORD);
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '') + '-logto-sign-in.png' });
  await page.locator('button[name="submit"]').click();
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-in').waitFor();
  const claims = await jsonOf(page, '#claims');
  check(claims.username === USERNAME, `claims are not ${USERNAME}'s: ${JSON.stringify(claims)}`);
  check(typeof claims.sub === 'string' && claims.sub.length > 0, 'no sub claim');
  log(`signed in as ${claims.sub}; claims shown`);

  step = 'session cookie';
  const cookie = (await context.cookies(APP_URL)).find((c) => c.name === 'logto_session');
  check(cookie, 'no logto_session cookie');
  check(cookie.httpOnly, 'the session cookie is not HttpOnly');
  check(cookie.sameSite === 'Lax', `the session cookie is SameSite=${cookie.sameSite}`);
  check(cookie.value.length < 100, 'the session cookie carries more than an id');
  log('session cookie is HttpOnly, SameSite=Lax and holds only an id');

  step = 'screenshot';
  await mkdir(dirname(SCREENSHOT), { recursive: true });
  await page.screenshot({ path: SCREENSHOT, fullPage: true });
  log(`screenshot saved to ${SCREENSHOT}`);

  step = 'user info';
  await page.click('#link-userinfo');
  await page.waitForURL(`${APP_URL}/protected/userinfo`);
  const userinfo = await jsonOf(page, '#userinfo');
  check(userinfo.sub === claims.sub, 'userinfo is about someone else');
  check(userinfo.custom_data !== undefined, `userinfo has no custom_data: ${JSON.stringify(userinfo)}`);
  log('user info fetched');

  step = 'API resource token';
  await page.goto(`${APP_URL}/`);
  await page.click(`a.link-resource[href*="${encodeURIComponent(RESOURCE)}"]`);
  await page.waitForURL((url) => url.pathname === '/protected/resource');
  const accessClaims = await jsonOf(page, '#access-token-claims');
  check(accessClaims.aud === RESOURCE, `access token audience ${accessClaims.aud}`);
  check(accessClaims.sub === claims.sub, 'access token for someone else');
  log(`access token for ${RESOURCE}, scope "${accessClaims.scope}"`);

  step = 'organization token';
  await page.goto(`${APP_URL}/`);
  await page.click(`a.link-organization[href$="/${encodeURIComponent(ORGANIZATION)}"]`);
  await page.waitForURL(`${APP_URL}/protected/organizations/${ORGANIZATION}`);
  const orgClaims = await jsonOf(page, '#organization-token-claims');
  check(orgClaims.aud === `urn:logto:organization:${ORGANIZATION}`, `organization token audience ${orgClaims.aud}`);
  log(`organization token for ${ORGANIZATION}, scope "${orgClaims.scope}"`);

  step = 'sign out';
  await page.goto(`${APP_URL}/`);
  await page.click('#sign-out');
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  const left = (await context.cookies(APP_URL)).find((c) => c.name === 'logto_session');
  check(!left, 'the session cookie is still there after sign-out');
  log('signed out: home page shows the signed-out state');

  step = 'protected page after sign-out';
  await page.goto(`${APP_URL}/protected`);
  await page.waitForURL((url) => url.href.startsWith(`${IDP_URL}/sign-in`));
  await page.locator('input[name="password"]').waitFor();
  log('a protected page sends the browser to Logto\'s sign-in page, which asks for the password again');
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
