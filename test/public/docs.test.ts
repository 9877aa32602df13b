import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { promisify } from 'node:util';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_PATH } from '../global-setup.js';
import { loadConfig } from '../../src/config.js';
import { startTestGateway, temporaryDirectory } from '../support/gateway.js';
import { REPO_ROOT, spawnGateway, waitUntil, whenReady, type RunningGateway } from '../support/process.js';

/**
 * Swagger UI as a newcomer uses it: the local gateway at a random port, reached
 * as `localhost` (not the 127.0.0.1 it prints), authorized with the token of
 * `npm run token`, and "Try it out" answered with a 200 under helmet's CSP.
 */
const exec = promisify(execFile);
let dataDir: string;
let port: number;
let running: RunningGateway | undefined;
let browser: Browser | undefined;

beforeAll(async () => {
  dataDir = temporaryDirectory('docs');
  running = spawnGateway({ DATA_DIR: dataDir });
  port = await whenReady(running);
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 90_000);

afterAll(async () => {
  await browser?.close();
  running?.kill('SIGKILL');
  await running?.exited;
  fs.rmSync(dataDir, { recursive: true, force: true });
});

test('/docs at http://localhost:<port>: authorize with the local token, then "Try it out" gets a 200', async () => {
  const { stdout: token } = await exec(process.execPath, ['dist/local/token-command.js'], { cwd: REPO_ROOT, env: { PATH: process.env.PATH ?? '', DATA_DIR: dataDir } });
  const page = await browser!.newPage();
  const refused: string[] = [];
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) refused.push(message.text());
  });
  try {
    await page.goto(`http://localhost:${port}/docs`);
    await page.getByText('npm run -s token').first().waitFor();

    await page.locator('.btn.authorize').first().click();
    // Only what works from a browser: a token pasted, no OAuth 2.0 flow whose token endpoint the page could never call.
    const schemes = await page.locator('.auth-container h4 code').allTextContents();
    expect(schemes).toContain('entraBearer');
    expect(schemes).not.toContain('entraClientCredentials');
    expect(await page.locator('.auth-container').getByText(/clientCredentials|client_secret/).count()).toBe(0);
    const bearer = page.locator('.auth-container', { has: page.locator('h4 code', { hasText: /^entraBearer$/ }) });
    await bearer.locator('#auth-bearer-value').fill(token.trim());
    await bearer.locator('button.authorize').click();
    await bearer.locator('button', { hasText: 'Logout' }).waitFor();
    await bearer.locator('.btn-done').click();

    const listRooms = page.locator('#operations-Rooms-listRooms');
    await listRooms.locator('.opblock-summary').click();
    await listRooms.locator('.try-out__btn').click();
    await listRooms.locator('.execute').click();
    const status = listRooms.locator('.live-responses-table .response .response-col_status');
    await status.waitFor();
    expect((await status.textContent())?.trim()).toBe('200');
    expect(await listRooms.locator('.request-url').textContent()).toContain(`http://localhost:${port}/rooms`);
    expect(refused).toEqual([]);
  } finally {
    await page.close();
  }
}, 60_000);

test('DOCS_ENABLED=false turns /docs and /openapi.yaml off', async () => {
  const gw = await startTestGateway({ env: { DOCS_ENABLED: 'false' } });
  try {
    for (const path of ['/docs', '/openapi.yaml', '/docs/swagger-ui-bundle.js']) {
      const response = await gw.http.get(path);
      expect(response.status).toBe(404);
      expect(response.headers['content-type']).toMatch(/^application\/problem\+json/);
    }
    expect((await gw.http.get('/public/health')).status).toBe(200);
  } finally {
    await gw.close();
  }
}, 60_000);

test('/docs is served by default in the local, edge and test profiles and not in prod', () => {
  const deployed = { ROOM_TAG_BASE_URL: 'https://idim.example.gov/s', GENESYS_ALLOWED_DIVISIONS: 'div-1', EVENT_SINK_USERNAME: 'pexip', EVENT_SINK_PASSWORD: 'a-long-sink-password', ROOM_PROVIDER: 'embedded' };
  expect(loadConfig({}).http.docsEnabled).toBe(true);
  for (const profile of ['edge', 'test']) expect(loadConfig({ ...deployed, MAXCONF_ENV: profile }).http.docsEnabled).toBe(true);
  expect(loadConfig({ ...deployed, MAXCONF_ENV: 'prod' }).http.docsEnabled).toBe(false);
  expect(loadConfig({ ...deployed, MAXCONF_ENV: 'prod', DOCS_ENABLED: 'true' }).http.docsEnabled).toBe(true);
});

test('a DOCS_ENABLED that is not true or false is refused at start-up', () => {
  expect(() => loadConfig({ DOCS_ENABLED: 'yes' })).toThrow(/DOCS_ENABLED: must be true or false/);
});
