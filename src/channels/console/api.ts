import { randomBytes } from 'node:crypto';
import { enabledVendors, type Config } from '../../config.js';
import { decodeAction, loadStoredFor, openPage } from '../../core/actions.js';
import { parseCommand } from '../../core/command.js';
import { asMeetcheckError, MeetcheckError } from '../../core/errors.js';
import { t } from '../../core/i18n.js';
import { describeError, describeParseError } from '../../core/messages.js';
import { viewPage, type PageView } from '../../core/paging.js';
import { rerunReport, runQuality, type CoreDeps, type RequestContext } from '../../core/quality.js';
import type { ChatRef } from '../../core/report.js';
import { v } from '../../edge/schema.js';
import { HttpError } from '../../http/body.js';
import { HELP_KEY } from '../wecom/card.js';
import { cardReply, messageReply, pageSizeOf, progressReply, type ConsoleReply, type Surface } from './surfaces.js';

/**
 * The console's two calls, on the same core path as a chat: a typed command goes through
 * parseCommand → runQuality, a button click through decodeAction → openPage (store only, no vendor
 * call), exactly as the Feishu and WeCom channels do. The console is one chat with one user.
 */
export const CONSOLE_CTX: RequestContext = { channel: 'console', chatId: 'console', userId: 'console' };
const CONSOLE_CHAT: ChatRef = { channel: CONSOLE_CTX.channel, chatId: CONSOLE_CTX.chatId };

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

/** A fresh WeCom task_id per answer, as the WeCom channel makes one per card it sends. */
export function newTaskId(): string {
  return `mc_${randomBytes(9).toString('base64url')}`;
}

/**
 * Runs a typed command; `emit` gets the "querying…" line and progress first, then exactly one
 * final card or message. Never throws for anything the person did or the vendor answered.
 */
export async function runCommand(deps: ConsoleDeps, req: CommandRequest, emit: (reply: ConsoleReply) => void, signal?: AbortSignal): Promise<void> {
  const { config, core } = deps;
  const lang = core.settings.lang;
  const taskId = newTaskId();
  const parsed = parseCommand(req.text);
  if (!parsed.ok) return emit(messageReply(lang, describeParseError(lang, parsed.error), taskId));
  if (parsed.command.kind === 'help') return emit(messageReply(lang, { title: t(lang, 'help.title'), text: t(lang, 'help.body') }, taskId));

  const cmd = parsed.command;
  const m = cmd.meeting;
  emit(progressReply(lang, t(lang, 'querying', { meeting: `${m.vendor ? `${m.vendor}:` : ''}${m.code ?? m.id ?? ''}` })));
  let lastProgress = -Infinity;
  try {
    const { stored } = await runQuality(core, CONSOLE_CTX, cmd, {
      pageSize: pageSizeOf(config, 'feishu'),
      deadline: core.clock.now() + COMMAND_DEADLINE_MS,
      ...(signal ? { signal } : {}),
      onProgress: (p) => {
        const now = core.clock.now();
        if (now - lastProgress < PROGRESS_EVERY_MS) return;
        lastProgress = now;
        emit(progressReply(lang, t(lang, p.total ? 'progress.total' : 'progress', { loaded: p.loaded, total: p.total ?? 0 })));
      },
    });
    const filter = cmd.problemsOnly ? 'problems' : 'all';
    emit(cardReply(config, viewPage(stored, 0, filter, pageSizeOf(config, 'feishu')), 'feishu', taskId));
  } catch (err) {
    emit(errorReply(deps, err, taskId));
  }
}

/** A button click: the same encodeAction string the real buttons carry, answered from the store. */
export async function runAction(deps: ConsoleDeps, req: ActionRequest): Promise<ConsoleReply> {
  const lang = deps.core.settings.lang;
  // WeCom message cards carry a help button (template_card needs one); its key is no page action.
  if (req.action === HELP_KEY) return messageReply(lang, { title: t(lang, 'help.title'), text: t(lang, 'help.body') }, req.taskId);
  const action = decodeAction(req.action);
  if (!action) throw new HttpError(400, 'unknown action');
  const size = pageSizeOf(deps.config, req.surface);
  try {
    let view: PageView;
    if (action.op === 'refresh') {
      const old = await loadStoredFor(deps.core.store, CONSOLE_CHAT, action.reportId);
      const { stored } = await rerunReport(deps.core, CONSOLE_CTX, old.command, {
        pageSize: pageSizeOf(deps.config, 'feishu'),
        deadline: deps.core.clock.now() + COMMAND_DEADLINE_MS,
      });
      view = viewPage(stored, 0, action.filter, size);
    } else {
      view = await openPage(deps.core.store, CONSOLE_CHAT, action, size);
    }
    return cardReply(deps.config, view, req.surface, req.taskId);
  } catch (err) {
    return errorReply(deps, err, req.taskId);
  }
}

function errorReply(deps: ConsoleDeps, err: unknown, taskId: string): ConsoleReply {
  const e = asMeetcheckError(err);
  if (!(err instanceof MeetcheckError)) deps.core.log.error({ err }, 'console request failed');
  return messageReply(deps.core.settings.lang, describeError(deps.core.settings.lang, e, enabledVendors(deps.config)), taskId);
}
