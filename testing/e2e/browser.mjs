// What the browser tests share: headless Chromium (Debian's /usr/bin/chromium, or CHROMIUM) with a
// fresh profile, reading environment variables, checks and the step log.

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const TIMEOUT = 20_000;

/** The environment variable `name`, or `fallback`; throws when neither is there. */
export const env = (name, fallback) => {
  const value = process.env[name] ?? fallback;
  if (value === undefined) throw new Error(`${name} is not set`);
  return value;
};

export const check = (condition, message) => {
  if (!condition) throw new Error(message);
};

export const log = (message) => console.log(`e2e: ${message}`);

/** Starts Chromium with a fresh profile; returns its first page and a function that closes it. */
export async function launch() {
  const userDataDir = await mkdtemp(join(tmpdir(), 'logto-e2e-'));
  // Without the background-networking flags Chromium's own connections are refused on a closed
  // network and slow everything down.
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: env('CHROMIUM', '/usr/bin/chromium'),
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
    ],
    viewport: { width: 1000, height: 900 },
  });
  const page = context.pages()[0] ?? await context.newPage();
  page.setDefaultTimeout(TIMEOUT);
  const close = async () => {
    await context.close();
    await rm(userDataDir, { recursive: true, force: true });
  };
  return { context, page, close };
}

/** The JSON text content of `selector` on `page`. */
export async function jsonOf(page, selector) {
  return JSON.parse(await page.locator(selector).textContent({ timeout: TIMEOUT }));
}
