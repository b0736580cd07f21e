#!/usr/bin/env node
// Browser test of the sample web app's connector buttons: headless Chromium (playwright-core)
// signs in through a social connector and through enterprise SSO, on the real Logto's pages and
// the upstream providers' sign-in pages. examples/web-app/tests/browser.rs starts everything and
// runs this script with:
//
//   APP_URL                 the app's base URL
//   SOCIAL_URL, SSO_URL     the two upstream providers' base URLs
//   UPSTREAM_PASSWORD       the upstream users' password
//   SOCIAL_USERNAME, SOCIAL_SUB, SOCIAL_TARGET   the social upstream user, the Logto user it is
//                           linked to, and the connector's target
//   SSO_USERNAME, SSO_SUB   the SSO upstream user and its Logto user
//   SCREENSHOTS             the directory for the screenshots
//   CHROMIUM                the browser binary (default /usr/bin/chromium)
//
// Prints one line per step; exits non-zero (with a screenshot) on failure.

import { mkdtemp, rm, mkdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};
const APP_URL = env('APP_URL').replace(/\/$/, '');
const SOCIAL_URL = env('SOCIAL_URL').replace(/\/$/, '');
const SSO_URL = env('SSO_URL').replace(/\/$/, '');
const PASSWORD = env('UPSTREAM_PASSWORD');
const SCREENSHOTS = env('SCREENSHOTS', 'testing/artifacts');
const CHROMIUM = env('CHROMIUM', '/usr/bin/chromium');
const TIMEOUT = 20_000;

const check = (condition, message) => {
  if (!condition) throw new Error(message);
};
const log = (message) => console.log(`e2e: ${message}`);

const userDataDir = await mkdtemp(join(tmpdir(), 'logto-e2e-'));
const context = await chromium.launchPersistentContext(userDataDir, {
  executablePath: CHROMIUM,
  headless: true,
  args: [
    '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
  viewport: { width: 1000, height: 900 },
});
const page = context.pages()[0] ?? await context.newPage();
page.setDefaultTimeout(TIMEOUT);
await mkdir(SCREENSHOTS, { recursive: true });

async function jsonOf(selector) {
  return JSON.parse(await page.locator(selector).textContent({ timeout: TIMEOUT }));
}

/** Clicks `button` on the home page, signs in at the upstream `upstreamUrl`, and checks the user. */
async function signInThrough(name, button, upstreamUrl, username, expectedSub, screenshot) {
  await page.goto(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  await page.click(button);
  await page.waitForURL((url) => url.href.startsWith(upstreamUrl));
  await page.fill('#username', username);
  await page.fill('#password', PASSWORD);
  await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}-upstream.png`) });
  await page.click('#submit');
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-in').waitFor();
  const claims = await jsonOf('#claims');
  check(claims.sub === expectedSub, `${name}: signed in as ${claims.sub}, not ${expectedSub}`);
  await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}.png`), fullPage: true });
  log(`${name}: signed in as ${claims.sub} through the upstream provider`);

  await page.click('#link-userinfo');
  await page.waitForURL(`${APP_URL}/protected/userinfo`);
  const userinfo = await jsonOf('#userinfo');
  await page.goto(`${APP_URL}/`);
  await page.click('#sign-out');
  await page.waitForURL(`${APP_URL}/`);
  await page.locator('#signed-out').waitFor();
  return userinfo;
}

let step = 'social sign-in';
try {
  const social = await signInThrough(
    'social connector', '#sign-in-social', SOCIAL_URL, env('SOCIAL_USERNAME'), env('SOCIAL_SUB'),
    'web-app-signed-in-social',
  );
  const identity = social.identities?.[env('SOCIAL_TARGET')];
  check(identity?.userId, `userinfo has no identities.${env('SOCIAL_TARGET')}: ${JSON.stringify(social)}`);
  log(`identities.${env('SOCIAL_TARGET')}.userId = ${identity.userId}`);

  step = 'SSO sign-in';
  const sso = await signInThrough(
    'enterprise SSO', '#sign-in-sso', SSO_URL, env('SSO_USERNAME'), env('SSO_SUB'), 'web-app-signed-in-sso',
  );
  check(sso.sso_identities?.length > 0, `userinfo has no sso_identities: ${JSON.stringify(sso)}`);
  log(`sso_identities[0].issuer = ${sso.sso_identities[0].issuer}`);
  console.log('e2e: ok');
} catch (error) {
  console.error(`e2e: FAILED at step "${step}": ${error.message}`);
  console.error(`e2e: page URL ${page.url()}`);
  try {
    await page.screenshot({ path: join(SCREENSHOTS, 'web-app-connectors-failure.png'), fullPage: true });
  } catch {
    // the page may be gone
  }
  process.exitCode = 1;
} finally {
  await context.close();
  await rm(userDataDir, { recursive: true, force: true });
}
