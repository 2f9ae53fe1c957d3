import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser } from 'playwright-core';
import { useServer } from './helpers/setup.js';

/** Debian's Chromium (.ci/run installs it); without it the test skips and says why. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const noBrowser = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (noBrowser) console.log(`# Swagger UI test skipped: ${noBrowser}`);

describe('Swagger UI at /docs in headless Chromium', { skip: noBrowser }, () => {
  const app = useServer({ noCredentials: true });
  let browser: Browser;

  before(async () => {
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
  });

  it('lists the operations, and "Try it out" on GET /health shows {"status":"ok"}', async () => {
    const page = await browser.newPage();
    const errors: string[] = [];
    page.on('pageerror', (err) => errors.push(err.message));
    await page.goto(`${app.url}/docs`);
    await page.locator('.opblock').first().waitFor({ timeout: 20_000 });

    const operations = await page.locator('.opblock-summary-path').allInnerTexts();
    const paths = operations.map((p) => p.replace(/\u200b/g, '').trim());
    for (const path of ['/health', '/v1/run', '/v1/threads', '/v1/threads/{id}/messages', '/v1/runs/{id}/events', '/v1/agents']) {
      assert.ok(paths.includes(path), `${path} listed (got ${paths.join(', ')})`);
    }

    const health = page.locator('#operations-meta-health');
    await health.locator('.opblock-summary').click();
    await health.getByRole('button', { name: 'Try it out' }).click();
    await health.getByRole('button', { name: 'Execute' }).click();
    const body = health.locator('.responses-wrapper .live-responses-table .response-col_description pre').first();
    await body.waitFor({ timeout: 10_000 });
    assert.deepEqual(JSON.parse(await body.innerText()), { status: 'ok' });
    assert.match(await health.locator('.live-responses-table tr.response .response-col_status').first().innerText(), /200/);
    if (process.env.SWAGGER_SCREENSHOT) await page.screenshot({ path: process.env.SWAGGER_SCREENSHOT, fullPage: true });
    assert.deepEqual(errors, []);
  });
});
