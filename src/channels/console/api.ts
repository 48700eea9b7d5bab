import type { Config } from '../../config.js';
import { decodeAction } from '../../core/actions.js';
import { createConversation } from '../../core/conversation.js';
import { t } from '../../core/i18n.js';
import type { CoreDeps, RequestContext } from '../../core/quality.js';
import type { CardView, Surface as CoreSurface } from '../../core/surface.js';
import { v } from '../../edge/schema.js';
import { HttpError } from '../../http/body.js';
import { cardReply, messageReply, pageSizeOf, plainMessageReply, progressReply, type ConsoleReply, type Surface } from './surfaces.js';

/**
 * The console's two calls, on the same conversation as a chat (core/conversation.ts): a typed
 * command, and a button click with the same encodeAction value the real buttons carry (answered
 * from the store, no vendor call). The console is one chat with one user.
 */
export const CONSOLE_CTX: RequestContext = { channel: 'console', chatId: 'console', userId: 'console' };

/** As long as the WeCom channel gives a command (wecom/bot.ts QUERY_DEADLINE_MS) before showing what has loaded. */
export const COMMAND_DEADLINE_MS = 60_000;
/** Progress lines at most this often: a 5,000-person meeting reports 100 pages. */
const PROGRESS_EVERY_MS = 250;

export interface ConsoleDeps {
  config: Config;
  core: CoreDeps;
}

export interface CommandRequest {
  text: string;
}
export interface ActionRequest {
  action: string;
  surface: Surface;
  taskId: string;
}

/**
 * WeCom's task_id alphabet and length: "只能由数字、字母和“_-@”组成，最长128字节"
 * (developer.work.weixin.qq.com/document/path/101032).
 */
const TASK_ID = /^[0-9A-Za-z_\-@]{1,128}$/;

/** The untrusted request bodies, parsed once at the edge, fields checked in order. */
const CommandBody = v.object({ text: v.string() });
const ActionBody = v.object({
  action: v.string(),
  surface: v.picklist(['feishu', 'wecom']),
  taskId: v.pipe(v.string(), v.regex(TASK_ID)),
});
/** The 400 for the first field that is missing or wrong. */
const FIELD_MESSAGES: Readonly<Record<string, string>> = {
  text: 'text must be a string',
  action: 'action must be a string',
  surface: 'surface must be "feishu" or "wecom"',
  taskId: 'taskId must be a WeCom task_id ([0-9A-Za-z_-@], at most 128)',
};

function parsedOr400<const S extends v.GenericSchema>(schema: S, body: Record<string, unknown>): v.InferOutput<S> {
  const r = v.safeParse(schema, body, { abortEarly: true });
  if (r.success) return r.output;
  const key = r.issues[0].path?.[0]?.key;
  throw new HttpError(400, (typeof key === 'string' ? FIELD_MESSAGES[key] : undefined) ?? 'bad request body');
}

export function parseCommandRequest(body: Record<string, unknown>): CommandRequest {
  return parsedOr400(CommandBody, body);
}

export function parseActionRequest(body: Record<string, unknown>): ActionRequest {
  return parsedOr400(ActionBody, body);
}

/**
 * The console as a surface of the conversation, shown on both platforms' renderers. A command's
 * answer is its progress lines and then one card: the first report page (which, for a vendor that
 * loads in batches, says it is still loading and carries the page to poll for) or a message.
 * `emit` is per request, so each command gets its own surface.
 */
function consoleSurface(deps: ConsoleDeps, emit?: (reply: ConsoleReply) => void, shown: Surface = 'feishu'): CoreSurface & { answered: Promise<void> } {
  const { config, core } = deps;
  const lang = core.settings.lang;
  let lastProgress = -Infinity;
  let answered = false;
  let answer!: () => void;
  const done = new Promise<void>((resolve) => (answer = resolve));
  return {
    platform: 'console',
    pageSize: pageSizeOf(config, shown),
    updates: 'push',
    // The console waits for a re-run: there is no later update to carry it.
    clickWaitMs: COMMAND_DEADLINE_MS,
    answered: done,
    async show(view, final) {
      if (!emit || answered) return;
      if (view.kind === 'querying') {
        const now = core.clock.now();
        if (final || (view.text && now - lastProgress < PROGRESS_EVERY_MS)) return;
        lastProgress = now;
        emit(progressReply(lang, view.text || view.title));
        return;
      }
      answered = true;
      emit(await replyFor(deps, view, shown));
      answer();
    },
  };
}

async function replyFor(deps: ConsoleDeps, view: CardView, shown: Surface): Promise<ConsoleReply> {
  const lang = deps.core.settings.lang;
  switch (view.kind) {
    case 'report':
      return cardReply(deps.config, deps.core.store, view.page, shown, view.card.id);
    case 'message':
      return messageReply(view);
    case 'querying':
      return progressReply(lang, view.text || view.title);
  }
}

/**
 * Runs a typed command; `emit` gets the "querying…" line and progress first, then exactly one
 * final card or message. Never throws for anything the person did or the vendor answered.
 */
export async function runCommand(deps: ConsoleDeps, req: CommandRequest, emit: (reply: ConsoleReply) => void, signal?: AbortSignal): Promise<void> {
  signal?.throwIfAborted();
  const surface = consoleSurface(deps, emit);
  const { done } = await createConversation(deps.core).command(surface, CONSOLE_CTX, req.text);
  // The answer is the first card; loading the rest goes on behind it (the page polls for it).
  await Promise.race([surface.answered, done]);
}

/** A button click: the same encodeAction string the real buttons carry, answered from the store. */
export async function runAction(deps: ConsoleDeps, req: ActionRequest): Promise<ConsoleReply> {
  const lang = deps.core.settings.lang;
  if (!decodeAction(req.action)) throw new HttpError(400, 'unknown action');
  const answer = await createConversation(deps.core).click(consoleSurface(deps, undefined, req.surface), CONSOLE_CTX, req.action);
  if (answer.view) return replyFor(deps, answer.view, req.surface);
  return plainMessageReply(lang, { title: t(lang, 'err.title'), text: answer.toast?.text ?? t(lang, 'err.internal') }, req.taskId);
}
