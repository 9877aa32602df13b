import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { CHROMIUM_PATH } from '../global-setup.js';
import { startTestGateway, type TestGateway } from '../support/gateway.js';

/**
 * The agent's widget in a real browser: a page from an allowed origin fetches
 * the room with x-auth-token and shows it; a page from another origin is
 * blocked by the browser's CORS check before its request is ever sent.
 */
let gw: TestGateway;
let gatewayServer: http.Server;
let allowedPage: PageServer;
let otherPage: PageServer;
let browser: Browser;
let roomName: string;
const agentToken = 'browser-agent-token';
const screenshots = fs.mkdtempSync(path.join(os.tmpdir(), 'maxconf-browser-'));

interface PageServer {
  server: http.Server;
  origin: string;
  html: string;
}

async function pageServer(): Promise<PageServer> {
  const page: PageServer = { server: http.createServer((_req, res) => res.writeHead(200, { 'content-type': 'text/html' }).end(page.html)), origin: '', html: '' };
  await new Promise<void>((resolve) => page.server.listen(0, '127.0.0.1', resolve));
  page.origin = `http://127.0.0.1:${(page.server.address() as AddressInfo).port}`;
  return page;
}

function widgetPage(gatewayUrl: string): string {
  return `<!doctype html><html><body><h1>Agent widget</h1><pre id="out">loading</pre><script>
    fetch(${JSON.stringify(`${gatewayUrl}/public/room/${roomName}`)}, { headers: { 'x-auth-token': ${JSON.stringify(agentToken)} } })
      .then((r) => r.json())
      .then((room) => { document.getElementById('out').textContent = 'room ' + room.name + ' pin ' + room.pin; })
      .catch((e) => { document.getElementById('out').textContent = 'blocked: ' + e.name; });
  </script></body></html>`;
}

beforeAll(async () => {
  allowedPage = await pageServer();
  otherPage = await pageServer();
  gw = await startTestGateway({ env: { CORS_ALLOWED_ORIGINS: allowedPage.origin } });
  gw.genesys.agent(agentToken);
  roomName = (await gw.http.post('/room/create?uuiData=0102').set(gw.bearer())).body.name as string;
  gatewayServer = gw.gateway.app.listen(0, '127.0.0.1');
  await new Promise((resolve) => gatewayServer.once('listening', resolve));
  const gatewayUrl = `http://127.0.0.1:${(gatewayServer.address() as AddressInfo).port}`;
  allowedPage.html = widgetPage(gatewayUrl);
  otherPage.html = widgetPage(gatewayUrl);
  browser = await chromium.launch({
    executablePath: CHROMIUM_PATH,
    args: ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
}, 60_000);

afterAll(async () => {
  await browser?.close();
  await new Promise((resolve) => gatewayServer?.close(resolve));
  for (const page of [allowedPage, otherPage]) await new Promise((resolve) => page?.server.close(resolve));
  await gw?.close();
});

async function visit(origin: string, screenshot: string): Promise<string> {
  const page = await browser.newPage();
  try {
    await page.goto(origin);
    await page.waitForFunction("document.getElementById('out').textContent !== 'loading'");
    await page.screenshot({ path: path.join(screenshots, screenshot) });
    return (await page.textContent('#out')) ?? '';
  } finally {
    await page.close();
  }
}

test('a page from the allowed origin fetches the room with x-auth-token and shows it', async () => {
  const shown = await visit(allowedPage.origin, 'allowed.png');
  const pin = (await gw.http.get(`/room/${roomName}`).set(gw.bearer())).body.pin as string;
  expect(shown).toBe(`room ${roomName} pin ${pin}`);
  expect(gw.genesys.calls).toBe(1);
});

test('a page from another origin is blocked by the browser, and its request never reaches Genesys', async () => {
  const callsBefore = gw.genesys.calls;
  const shown = await visit(otherPage.origin, 'blocked.png');
  expect(shown).toBe('blocked: TypeError');
  expect(gw.genesys.calls).toBe(callsBefore);
});
