import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { chromium, type Browser, type Locator } from 'playwright-core';
import { startTestServer } from './helpers/server.js';

/** Launched as in swagger-ui.test.ts; without Chromium the test skips and says why. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
const FLAGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];
const noBrowser = existsSync(CHROMIUM) ? undefined : `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_PATH)`;
if (noBrowser) console.log(`# Swagger UI auth test skipped: ${noBrowser}`);

const KEY = `ui-${randomBytes(16).toString('hex')}`;

describe('Swagger UI with an API key (headless Chromium)', { skip: noBrowser }, () => {
  let server: Awaited<ReturnType<typeof startTestServer>>;
  let browser: Browser;

  before(async () => {
    server = await startTestServer({ noCredentials: true, env: { AGENTSDK_API_KEYS: KEY } });
    browser = await chromium.launch({ executablePath: CHROMIUM, args: FLAGS, headless: true, timeout: 30_000 });
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const execute = async (op: Locator): Promise<string> => {
    await op.getByRole('button', { name: 'Execute' }).click();
    const status = op.locator('.live-responses-table tr.response .response-col_status').first();
    await status.waitFor({ timeout: 10_000 });
    return (await status.innerText()).trim();
  };

  it('"Try it out" on GET /v1/threads: 401 without a key, 200 after Authorize with one', async () => {
    const page = await browser.newPage();
    await page.goto(`${server.url}/docs`);
    const op = page.locator('#operations-threads-threads-list');
    await op.waitFor({ timeout: 20_000 });
    await op.locator('.opblock-summary').click();
    await op.getByRole('button', { name: 'Try it out' }).click();
    assert.match(await execute(op), /401/);

    await page.locator('.auth-wrapper .btn.authorize').click();
    const dialog = page.locator('.modal-ux');
    await dialog.waitFor({ timeout: 5_000 });
    const apiKey = dialog.locator('.auth-container').filter({ hasText: 'x-api-key' });
    await apiKey.locator('input').fill(KEY);
    await apiKey.locator('button[type=submit]').click();
    await dialog.locator('button.btn-done').first().click();

    assert.match(await execute(op), /200/);
    await page.close();
  });
});
