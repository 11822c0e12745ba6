// Debian's Chromium through playwright-core, as every browser test and
// `npm run bench:page` launch it (CHROMIUM_PATH picks another binary).
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

/** A headless Chromium with no network of its own, no sandbox (CI runs as root), no GPU. */
export const launchChromium = () => chromium.launch({
  executablePath: CHROMIUM,
  args: ['--no-sandbox', '--disable-gpu', '--disable-background-networking',
    '--disable-component-update', '--no-first-run', '--disable-sync'],
});
