/** Launching Debian's Chromium for the dashboard tests (headless, no network chatter). */
import { chromium as playwright, type Browser } from 'playwright-core';

export const CHROMIUM_PATH = '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export function launchChromium(): Promise<Browser> {
  return playwright.launch({ executablePath: CHROMIUM_PATH, args: CHROMIUM_ARGS });
}
