import { readFileSync } from 'node:fs';
import { PassThrough } from 'node:stream';
import type { Context } from 'koa';
import type Router from '@koa/router';
import { HttpError, parseJsonObject, readRawBody } from '../../http/body.js';
import type { Channel } from '../types.js';
import { parseActionRequest, parseCommandRequest, runAction, runCommand, type ConsoleDeps } from './api.js';
import { CONSOLE_CSP, consolePage } from './page.js';

/**
 * The local console (GET /console): a chat page for trying the bot and for seeing a card change
 * before it ships. It has no login, so config turns it on only in demo mode or with
 * MEETCHECK_CONSOLE=1. Its API answers only same-origin JSON requests, so another site open in
 * the same browser cannot make it run queries.
 */

/** A command is at most 300 characters (core/command.ts MAX_COMMAND_CHARS); a click far less. */
const BODY_LIMIT = 4 * 1024;

const ASSETS: Record<string, string> = {
  'console.js': 'text/javascript; charset=utf-8',
  'console.css': 'text/css; charset=utf-8',
};

function loadAssets(): Map<string, string> {
  const files = new Map<string, string>();
  for (const name of Object.keys(ASSETS)) files.set(name, readFileSync(new URL(`./assets/${name}`, import.meta.url), 'utf8'));
  return files;
}

export function createConsoleChannel(deps: ConsoleDeps): Channel {
  const assets = loadAssets();
  const page = consolePage(deps.core.settings.lang);

  return {
    name: 'console',
    mount(router: Router) {
      router.get('/console', (ctx) => {
        securityHeaders(ctx);
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'text/html; charset=utf-8';
        ctx.body = page;
      });

      router.get('/console/assets/:file', (ctx) => {
        const name = ctx.params.file ?? '';
        const body = Object.hasOwn(ASSETS, name) ? assets.get(name) : undefined;
        if (body === undefined) throw new HttpError(404, 'no such asset');
        securityHeaders(ctx);
        ctx.set('Cache-Control', 'no-cache');
        ctx.type = ASSETS[name]!;
        ctx.body = body;
      });

      router.post('/console/api/command', async (ctx) => {
        const req = parseCommandRequest(await readJson(ctx));
        // NDJSON: the "querying…" card and progress lines first, then the card, as the chat
        // channels first reply and then patch their message.
        const out = new PassThrough();
        const abort = new AbortController();
        ctx.res.once('close', () => {
          if (!ctx.res.writableFinished) abort.abort(new Error('console client went away'));
        });
        ctx.set('Cache-Control', 'no-store');
        ctx.type = 'application/x-ndjson; charset=utf-8';
        ctx.body = out;
        void deps.core.tasks.run('console command', async () => {
          try {
            await runCommand(deps, req, (reply) => {
              if (!out.writableEnded) out.write(JSON.stringify(reply) + '\n');
            }, abort.signal);
          } finally {
            out.end();
          }
        });
      });

      router.post('/console/api/action', async (ctx) => {
        const req = parseActionRequest(await readJson(ctx));
        ctx.set('Cache-Control', 'no-store');
        ctx.body = await runAction(deps, req);
      });
    },
  };
}

function securityHeaders(ctx: Context): void {
  ctx.set('Content-Security-Policy', CONSOLE_CSP);
  ctx.set('X-Content-Type-Options', 'nosniff');
  ctx.set('Referrer-Policy', 'no-referrer');
}

/**
 * Same-origin JSON only. A JSON content type cannot be sent cross-site without a CORS preflight,
 * which we never answer; Origin and Sec-Fetch-Site (sent by browsers) refuse the rest.
 */
async function readJson(ctx: Context): Promise<Record<string, unknown>> {
  if (!ctx.is('application/json')) throw new HttpError(415, 'send application/json');
  const site = ctx.get('sec-fetch-site');
  if (site && site !== 'same-origin' && site !== 'none') throw new HttpError(403, 'cross-site request refused');
  const origin = ctx.get('origin');
  // Behind a proxy the public host may arrive as X-Forwarded-Host (app.proxy is on) or as Host.
  if (origin && !sameHost(origin, [ctx.get('host'), ctx.host])) throw new HttpError(403, 'cross-origin request refused');
  return parseJsonObject(await readRawBody(ctx, BODY_LIMIT));
}

function sameHost(origin: string, hosts: string[]): boolean {
  try {
    const host = new URL(origin).host;
    return hosts.some((h) => h !== '' && h === host);
  } catch {
    return false;
  }
}
