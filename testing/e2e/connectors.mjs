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

import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';

import { check, env, jsonOf, launch, log } from './browser.mjs';

const APP_URL = env('APP_URL').replace(/\/$/, '');
const SOCIAL_URL = env('SOCIAL_URL').replace(/\/$/, '');
const SSO_URL = env('SSO_URL').replace(/\/$/, '');
const PASSWORD = env('UPSTREAM_PASSWORD');
const SCREENSHOTS = env('SCREENSHOTS', 'testing/artifacts');

const { page, close } = await launch();
await mkdir(SCREENSHOTS, { recursive: true });

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
  const claims = await jsonOf(page, '#claims');
  check(claims.sub === expectedSub, `${name}: signed in as ${claims.sub}, not ${expectedSub}`);
  await page.screenshot({ path: join(SCREENSHOTS, `${screenshot}.png`), fullPage: true });
  log(`${name}: signed in as ${claims.sub} through the upstream provider`);

  await page.click('#link-userinfo');
  await page.waitForURL(`${APP_URL}/protected/userinfo`);
  const userinfo = await jsonOf(page, '#userinfo');
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
  await close();
}
