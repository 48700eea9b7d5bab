import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser, type Page } from 'playwright-core';
import { loadConfig } from '../../src/config.js';
import { t } from '../../src/core/i18n.js';
import { startServer, type Running } from '../../src/main.js';
import { hasProblems, loadReport, sortAttendees, type StoredReport } from '../../src/core/report.js';
import type { ConsoleReply } from '../../src/channels/console/surfaces.js';
import { manualClock } from '../helpers/core.js';

/**
 * The console in a real browser (Debian's Chromium driven by playwright-core): type a command,
 * see the Feishu card with attendees worst first, page and filter with the keyboard, switch to
 * the WeCom rendering. Screenshots go to test-results/; with UPDATE_SCREENSHOTS=1 they go to docs/
 * instead (docs/console.png is the one the README shows), so a plain test run changes no tracked file.
 */

const CHROMIUM = '/usr/bin/chromium';
const SCREENSHOT_DIR = process.env.UPDATE_SCREENSHOTS === '1' ? '../../docs/' : '../../test-results/';
const SCREENSHOT = fileURLToPath(new URL(`${SCREENSHOT_DIR}console.png`, import.meta.url));
const haveChromium = existsSync(CHROMIUM);
// On a developer machine without Chromium the test says so and skips; in CI a missing browser is a failure.
const skip = !haveChromium && !process.env.CI;
if (skip) console.log(`console browser test skipped: ${CHROMIUM} not found (apt-get install chromium; with CI set this fails instead)`);

const PAGE_SIZE = 10;

describe.skipIf(skip)('console in a browser', () => {
  let running: Running;
  let browser: Browser;
  let page: Page;
  const vendor = { calls: 0 };
  const pageErrors: string[] = [];
  /** The console API's answer to the last button press: the JSON the page draws from. */
  let lastReply: ConsoleReply | undefined;
  const foreignRequests: string[] = [];

  beforeAll(async () => {
    if (!haveChromium) throw new Error(`CI is set but ${CHROMIUM} is missing: apt-get install chromium (.ci/run does)`);
    // A fixed clock makes the demo meeting (and so the screenshot) the same on every run.
    running = await startServer(loadConfig({ PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en' }), { clock: manualClock() });
    const demo = running.core.vendors.get('demo')!;
    const original = demo.fetchReport.bind(demo);
    demo.fetchReport = (query, opts) => {
      vendor.calls++;
      return original(query, opts);
    };
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    page = await browser.newPage({ viewport: { width: 860, height: 900 } });
    page.setDefaultTimeout(10_000);
    page.on('pageerror', (e) => pageErrors.push(e.message));
    page.on('console', (m) => {
      if (m.type() === 'error') pageErrors.push(m.text());
    });
    // Works offline: anything not from our own server is recorded and refused.
    await page.route('**/*', (route) => {
      const url = route.request().url();
      if (url.startsWith(running.url) || url.startsWith('data:')) return route.continue();
      foreignRequests.push(url);
      return route.abort();
    });
  }, 30_000);

  afterAll(async () => {
    await browser?.close();
    await running?.close();
  });

  /** Attendee names in the shown Feishu card, top to bottom, as the reader sees them. */
  const shownNames = () => page.$$eval('.card-host .fs-body > .fs-md strong.md-b', (els) => els.map((e) => e.textContent));
  const subtitle = () => page.locator('.card-host .fs-subtitle').last().textContent();
  const button = (label: string) => page.locator('.card-host button', { hasText: label }).last();

  async function pressButton(label: string): Promise<void> {
    const host = page.locator('.card-host').last();
    const draws = Number(await host.getAttribute('data-draws'));
    const answered = page.waitForResponse((r) => r.url() === `${running.url}/console/api/action`);
    // Keyboard, not mouse: every card button is reachable and works with Enter.
    await button(label).focus();
    await page.keyboard.press('Enter');
    lastReply = (await (await answered).json()) as ConsoleReply;
    // The card is redrawn in place once the answer to the click is in.
    await page.waitForFunction((before) => {
      const h = [...document.querySelectorAll('.card-host')].at(-1);
      return h?.getAttribute('aria-busy') === 'false' && Number(h.getAttribute('data-draws')) > before;
    }, draws);
  }

  it('types a command, shows the report worst first, pages and filters with the keyboard, and switches to WeCom', async () => {
    await page.goto(`${running.url}/console`);
    await page.waitForSelector('body[data-ready="true"]');

    await page.getByLabel('Command').focus();
    await page.keyboard.type('/quality demo:123456789');
    await page.keyboard.press('Enter');
    await page.waitForSelector('.card-host[data-type="card"] .fs-card');

    const reportId = await page.locator('.msg-bot[data-report-id]').last().getAttribute('data-report-id');
    const stored = (await loadReport(running.core.store, reportId!)) as StoredReport;
    expect(stored.chat).toEqual({ channel: 'console', chatId: 'console' });
    const sorted = sortAttendees(stored.report.attendees);
    const pages = Math.ceil(sorted.length / PAGE_SIZE);
    expect(pages).toBeGreaterThan(1);

    // Worst first: the first page lists the alerting attendees in core's order, and the header is red.
    expect(await shownNames()).toEqual(sorted.slice(0, PAGE_SIZE).map((a) => a.name));
    expect(sorted[0]!.health).toBe(2);
    expect(await page.locator('.card-host .fs-header').last().getAttribute('data-template')).toBe('red');
    expect(await subtitle()).toContain(t('en', 'page', { page: 1, pages }));
    expect(await button(t('en', 'btn.prev')).isDisabled()).toBe(true);

    mkdirSync(dirname(SCREENSHOT), { recursive: true });
    await page.screenshot({ path: SCREENSHOT, fullPage: true });
    expect(statSync(SCREENSHOT).size).toBeGreaterThan(10_000);

    await pressButton(t('en', 'btn.next'));
    expect(await subtitle()).toContain(t('en', 'page', { page: 2, pages }));
    expect(await shownNames()).toEqual(sorted.slice(PAGE_SIZE, 2 * PAGE_SIZE).map((a) => a.name));
    // Focus stays on the card's buttons, so the next Enter pages again.
    expect(await page.evaluate(() => document.activeElement?.tagName)).toBe('BUTTON');

    await pressButton(t('en', 'btn.problems'));
    const withProblems = sortAttendees(stored.report.attendees.filter(hasProblems));
    expect(await shownNames()).toEqual(withProblems.slice(0, PAGE_SIZE).map((a) => a.name));
    expect(await button(t('en', 'btn.all')).count()).toBe(1);

    // Page flips and filters come from the store: the vendor was asked once, for the command.
    expect(vendor.calls).toBe(1);

    // A hostile display name shows as written and mentions nobody.
    const hostile = sorted.findIndex((a) => a.name === '<at id=all></at>');
    expect(hostile).toBeGreaterThanOrEqual(0);
    await pressButton(t('en', 'btn.all'));
    for (let p = 0; p < Math.floor(hostile / PAGE_SIZE); p++) await pressButton(t('en', 'btn.next'));
    expect(await shownNames()).toContain('<at id=all></at>');
    expect(await page.locator('.card-host .mention').count()).toBe(0);

    // The switch redraws the same report as WeCom's template_card (6 rows a page), by keyboard too.
    await page.getByLabel('WeCom').focus();
    await page.keyboard.press('Space');
    await page.waitForSelector('.card-host[data-surface="wecom"] .wc-card');
    // It draws the WeCom card of the last answer: one row per horizontal_content_list item (at most
    // 6, WeCom's limit) and one button per button_list item, in order.
    expect(lastReply?.type).toBe('card');
    const wecomCard = lastReply!.type === 'card' ? (lastReply!.wecom.card as { horizontal_content_list: { keyname: string }[]; button_list: { text: string }[] }) : undefined;
    const wc = page.locator('.card-host .wc-card').last();
    const keynames = wecomCard!.horizontal_content_list.map((r) => r.keyname);
    expect(keynames.length).toBeGreaterThanOrEqual(1);
    expect(keynames.length).toBeLessThanOrEqual(6);
    expect(await wc.locator('.wc-hrow dt').allTextContents()).toEqual(keynames);
    expect(await wc.locator('.wc-btn').allTextContents()).toEqual(wecomCard!.button_list.map((b) => b.text));
    await page.screenshot({ path: SCREENSHOT.replace(/\.png$/, '-wecom.png'), fullPage: true });

    expect(pageErrors).toEqual([]);
    expect(foreignRequests).toEqual([]);
  }, 60_000);
});
