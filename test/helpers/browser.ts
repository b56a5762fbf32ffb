/**
 * The browser suites' gate: Debian's chromium, driven by playwright-core (which never downloads a browser).
 * Without it they skip and print why, unless RANDLAB_REQUIRE_BROWSER=1 (CI), where test/global-setup.ts
 * has already failed the run.
 */
import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

export const CHROMIUM = process.env.RANDLAB_CHROMIUM || '/usr/bin/chromium';

/** Why the browser suites cannot run here, or null. */
export function browserMissingReason(): string | null {
  return existsSync(CHROMIUM) ? null : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set RANDLAB_CHROMIUM)`;
}

export const browserMissing = browserMissingReason() !== null;
if (browserMissing) console.warn(`browser suites skipped: ${browserMissingReason()}`);

export function launchChromium(): Promise<Browser> {
  // As root (CI containers) Chromium's sandbox cannot start; the pages it opens are our own.
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox'] });
}
