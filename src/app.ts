import Koa from 'koa';
import Router from '@koa/router';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';
import type { Channel } from './channels/types.js';
import { HttpError } from './http/body.js';

export interface AppDeps {
  log: Logger;
  metrics: Metrics;
  channels: readonly Channel[];
  /** False once a shutdown began: /readyz answers 503 so a load balancer stops sending. */
  ready?: () => boolean;
}

/** The one Koa app: liveness, metrics, and every channel's routes, each answering 4xx for bad input. */
export function buildApp(deps: AppDeps): Koa {
  const app = new Koa();
  app.proxy = true;
  const router = new Router();

  // Liveness: the process answers. Readiness (/readyz) also says whether to send it work.
  router.get('/healthz', (ctx) => {
    ctx.body = { ok: true };
  });
  router.get('/readyz', (ctx) => {
    const ready = deps.ready?.() ?? true;
    ctx.status = ready ? 200 : 503;
    ctx.body = ready ? { ready: true } : { ready: false, reason: 'draining' };
  });
  router.get('/metrics', async (ctx) => {
    ctx.type = deps.metrics.registry.contentType;
    ctx.body = await deps.metrics.registry.metrics();
  });
  for (const channel of deps.channels) channel.mount?.(router);

  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (err) {
      const status = err instanceof HttpError ? err.status : (err as { status?: number }).status ?? 500;
      ctx.status = status >= 400 && status < 600 ? status : 500;
      ctx.body = { error: ctx.status < 500 && err instanceof Error ? err.message : 'internal error' };
      if (ctx.status >= 500) deps.log.error({ err, path: ctx.path }, 'request failed');
      else deps.log.info({ path: ctx.path, status: ctx.status, reason: (err as Error).message }, 'request refused');
    } finally {
      const route = (ctx as unknown as { _matchedRoute?: string })._matchedRoute ?? 'unmatched';
      deps.metrics.httpRequests.inc({ route, status: String(ctx.status) });
    }
  });
  app.use(router.routes());
  app.use(router.allowedMethods());
  // Koa would log every error itself; ours are logged above, once, through pino.
  app.silent = true;
  return app;
}
