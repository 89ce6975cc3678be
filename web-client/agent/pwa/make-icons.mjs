// Renders the agent app's PNG icons (192 and 512 px) from icon.svg with headless Chromium; the PNGs are
// committed, so the build needs no image tools. Run after changing the SVG:
//   node web-client/agent/pwa/make-icons.mjs   (MCCS_E2E_CHROMIUM overrides /usr/bin/chromium)
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import puppeteer from 'puppeteer-core';

const here = (name) => fileURLToPath(new URL(name, import.meta.url));
const svg = readFileSync(here('icon.svg'), 'utf8');
const browser = await puppeteer.launch({ executablePath: process.env.MCCS_E2E_CHROMIUM ?? '/usr/bin/chromium', headless: true, args: ['--no-sandbox'] });
try {
  const page = await browser.newPage();
  for (const size of [192, 512]) {
    await page.setViewport({ width: size, height: size });
    await page.setContent(`<body style="margin:0">${svg.replace('<svg ', `<svg width="${size}" height="${size}" `)}</body>`);
    await page.screenshot({ path: here(`icon-${size}.png`), clip: { x: 0, y: 0, width: size, height: size } });
  }
} finally {
  await browser.close();
}
