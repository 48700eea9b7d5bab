import { randomBytes } from 'node:crypto';
import { StoreUnavailableError } from '../store/types.js';
import { decodeAction, encodeAction, readPage } from './actions.js';
import { errorInfo, errorOf, loadCard, newCardId, saveCard, updateCard, type CardRecord } from './card.js';
import { parseCommand, type MeetingRef } from './command.js';
import { MeetcheckError, asMeetcheckError } from './errors.js';
import { noteText, t } from './i18n.js';
import type { ReportNote } from './model.js';
import { describeError, describeHelp, describeParseError, type ErrorMessage } from './messages.js';
import type { Filter } from './paging.js';
import { commandText, isStoreLoss, rerunReport, resumeReport, runQuality, type CoreDeps, type QualityCommand, type RequestContext, type RunOptions } from './quality.js';
import { REPORT_TTL_MS, saveReport } from './report.js';
import type { CardButton, CardView, Surface } from './surface.js';
import { HandBack, handedBack, type JobRequest } from './tasks.js';
import type { Progress, QualityCommandText } from './vendor.js';

/**
 * The /quality conversation, once for every platform. A platform's inbound adapter verifies,
 * parses, dedupes and acks, then calls `command` or `click`; its Surface renders and delivers what
 * the conversation decides. The card's life (querying → progress → report → page / filter /
 * refresh → expired → re-run) is one CardRecord in the store (core/card.ts).
 */
export interface Conversation {
  /**
   * A message addressed to the bot: parse it, send the first card (help, a parse error, or
   * "querying…"), and run the query behind it. `done` settles when the card is final.
   */
  command(surface: Surface, ctx: RequestContext, text: string, origin?: Origin): Promise<{ card: CardRecord; done: Promise<void> }>;
  /** A button click carrying an encodeAction value (core/actions.ts): answered from the store, no vendor call, unless it asks to re-run. */
  click(surface: Surface, ctx: RequestContext, value: unknown, handle?: string): Promise<ClickAnswer>;
  /** The card as it stands (a WeCom stream refresh, the console's poll). */
  view(surface: Surface, card: CardRecord): Promise<CardView>;
  /** Runs a card's command again and shows it there (after a user authorised the vendor, say). */
  resume(surface: Surface, cardId: string, ctx: RequestContext, note?: ReportNote): Promise<void>;
  /**
   * A durable job's work, on whichever replica took the job (src/jobs/): continues from the job's
   * checkpoint when an earlier owner stored one. Rejects with the signal's HandBack reason when
   * handed back, leaving the card for the next owner.
   */
  runJob(surface: Surface, job: JobRequest, signal: AbortSignal): Promise<void>;
  /** What to say when the store is down: needs no stored state. */
  unavailable(): ErrorMessage;
}

/** Where the command came from on its platform. */
export interface Origin {
  /** The platform's message id (Feishu message_id, WeCom msgid). */
  id: string;
  /** A handle the platform fixed before the first card (a WeCom stream id). */
  handle?: string;
}

export interface ClickAnswer {
  /** The card to show now; absent = leave the card as it is. */
  view?: CardView;
  toast?: { type: 'info' | 'error'; text: string };
  /** Work to start only once the answer is out (see Surface.clickWaitMs). */
  after?: () => void;
}

/** A job's checkpoint: the id of the report it is building, then 'done' once its final card is out. */
const checkpointKey = (runId: string) => `job:${runId}:report`;
const CHECKPOINT_DONE = 'done';

/** How often a click waiting on a queued re-run looks at the card. */
const QUEUED_POLL_MS = 100;

/** A run that has shown no news for this long is taken as dead, and a click may start another. */
const STUCK_MS = 10 * 60_000;

export function meetingLabel(m: MeetingRef): string {
  return `${m.vendor ? `${m.vendor}:` : ''}${m.code ?? m.id ?? ''}`;
}

export function createConversation(core: CoreDeps): Conversation {
  const { store, clock, log } = core;
  const lang = core.settings.lang;
  const vendorNames = () => [...core.vendors.keys()];

  function newCard(ctx: RequestContext, state: CardRecord['state'], origin?: Origin, command?: QualityCommandText): CardRecord {
    const card: CardRecord = {
      id: newCardId(), chat: { channel: ctx.channel, chatId: ctx.chatId }, userId: ctx.userId, lang,
      createdAt: clock.now(), state, page: 0, filter: command?.problemsOnly ? 'problems' : 'all',
    };
    if (origin) card.origin = origin.id;
    if (origin?.handle) card.handle = origin.handle;
    if (command) card.command = command;
    return card;
  }

  function progressText(p?: Progress): string {
    if (!p) return '';
    return p.total ? t(lang, 'progress.total', { loaded: p.loaded, total: p.total }) : t(lang, 'progress', { loaded: p.loaded });
  }

  function retryButton(card: CardRecord): CardButton {
    return { label: t(lang, 'btn.refresh'), value: encodeAction({ cardId: card.id, page: 0, filter: card.filter, op: 'refresh' }), primary: true };
  }

  function errorView(card: CardRecord, e: MeetcheckError): CardView {
    // Retrying helps with everything but a refusal: "not_allowed" would only be refused again.
    const buttons = card.command && e.code !== 'not_allowed' && e.code !== 'foreign_chat' ? [retryButton(card)] : [];
    return { kind: 'message', card, message: describeError(lang, e, vendorNames()), buttons, error: e };
  }

  function expiredView(card: CardRecord): CardView {
    const message = describeError(lang, new MeetcheckError('report_expired'));
    if (card.command) message.text += `\n/quality ${meetingLabel(card.command.meeting)}${card.command.problemsOnly ? ' --problems' : ''}`;
    return { kind: 'message', card, message, buttons: card.command ? [retryButton(card)] : [] };
  }

  async function view(surface: Surface, card: CardRecord): Promise<CardView> {
    const s = card.state;
    switch (s.kind) {
      case 'querying':
        return {
          kind: 'querying', card,
          title: t(lang, 'querying', { meeting: card.label ?? (card.command ? meetingLabel(card.command.meeting) : '') }),
          text: progressText(s.progress),
        };
      case 'report': {
        if (!card.reportId) return expiredView(card);
        try {
          const page = await readPage(store, card.chat, { reportId: card.reportId, page: card.page, filter: card.filter }, surface.pageSize);
          return { kind: 'report', card, page };
        } catch (err) {
          const e = asMeetcheckError(err);
          if (e.code === 'report_expired') return expiredView(card);
          throw err;
        }
      }
      case 'error':
        return errorView(card, errorOf(s.error));
      case 'help':
        return { kind: 'message', card, message: describeHelp(lang, vendorNames()), buttons: [] };
      case 'parse_error':
        return { kind: 'message', card, message: describeParseError(lang, s.error, vendorNames()), buttons: [] };
    }
  }

  /** Shows the card; a failed delivery is the surface's to retry, and never fails the run. */
  async function show(surface: Surface, card: CardRecord, final: boolean): Promise<CardRecord> {
    const handle = await surface.show(await view(surface, card), final);
    if (handle && handle !== card.handle) {
      return (await updateCard(store, card.id, (c) => ({ ...c, handle }))) ?? { ...card, handle };
    }
    return card;
  }

  /**
   * Runs the card's command and shows it: progress, the report (on push surfaces the first page as
   * soon as it is in, then each background batch), and a final card whatever happens.
   */
  async function run(
    surface: Surface, cardId: string, ctx: RequestContext, fresh: boolean, note?: ReportNote,
    signal: AbortSignal = core.tasks.signal, runId?: string,
  ): Promise<void> {
    let card = await loadCard(store, cardId);
    if (!card?.command) return;
    const command = card.command;
    const checkpoint = runId === undefined ? undefined : await store.get(checkpointKey(runId));
    if (checkpoint === CHECKPOINT_DONE) {
      // An earlier owner finished and died before the queue heard: show the final card again
      // (the reply uuid and the patch make that land once), nothing more.
      await show(surface, card, true);
      return;
    }
    // A queued command's first card ("querying…") is the job's to send (see command()).
    if (!card.handle && card.state.kind === 'querying') card = await show(surface, card, false);
    // Progress and background updates come as callbacks; one chain keeps their store writes and
    // sends in order, and none lands after the final card.
    let chain = Promise.resolve();
    let finished = false;
    const later = (step: () => Promise<void>) => {
      chain = chain.then(async () => {
        if (!finished) await step();
      }).catch((err: unknown) => log.warn({ err, card: cardId }, 'card update not shown'));
    };
    /** The card as the store has it now (the person may have paged meanwhile). */
    const showLatest = async () => {
      const card = await loadCard(store, cardId);
      if (card) await show(surface, card, false);
    };
    const opts: RunOptions = {
      pageSize: surface.pageSize,
      signal,
      onProgress: (p) => later(async () => {
        const c = await updateCard(store, cardId, (x) => (x.state.kind === 'querying' ? { ...x, state: { ...x.state, progress: p } } : x));
        if (c) await show(surface, c, false);
      }),
      onUpdate: (_stored, done) => {
        if (surface.updates === 'push' && !done) later(showLatest);
      },
    };
    if (runId !== undefined) {
      opts.owner = runId;
      opts.durable = true;
      opts.onStored = (stored) => store.set(checkpointKey(runId), stored.id, REPORT_TTL_MS);
    }
    if (surface.updates === 'final' && surface.deadlineMs) opts.deadline = clock.now() + surface.deadlineMs;
    try {
      const resumed = checkpoint === undefined ? undefined : await resumeReport(core, checkpoint, opts);
      const { stored, background } = resumed
        ?? (fresh ? await rerunReport(core, ctx, command, opts) : await runQuality(core, ctx, qualityCommand(command), opts));
      if (note && !resumed) {
        stored.report.notes.push(note);
        await saveReport(store, stored);
      }
      card = await updateCard(store, cardId, (c) => ({ ...c, state: { kind: 'report' }, reportId: stored.id, page: 0 })) ?? card;
      if (surface.updates === 'push') {
        later(showLatest);
        await background;
      } else if (opts.deadline !== undefined) {
        // One finished card: wait for the background load, up to the deadline, then show what is in.
        const ac = new AbortController();
        await Promise.race([background, clock.sleep(Math.max(0, opts.deadline - clock.now()), ac.signal).catch(() => undefined)]);
        ac.abort();
      } else {
        await background;
      }
      if (handedBack(signal)) throw signal.reason;
    } catch (err) {
      if (handedBack(signal)) {
        // The next owner goes on from the checkpoint; this replica shows nothing more.
        finished = true;
        throw signal.reason instanceof HandBack ? signal.reason : err;
      }
      if (runId !== undefined && isStoreLoss(err)) {
        // The queue tries the job again once the store is back; the card keeps what it shows.
        finished = true;
        throw err;
      }
      const e = signal.aborted ? new MeetcheckError('interrupted') : asMeetcheckError(err);
      card = await updateCard(store, cardId, (c) => ({ ...c, state: { kind: 'error', error: errorInfo(e) } })) ?? card;
    }
    await chain;
    finished = true;
    if (runId !== undefined) await store.set(checkpointKey(runId), CHECKPOINT_DONE, REPORT_TTL_MS);
    const final = (await loadCard(store, cardId)) ?? card;
    await show(surface, final, true);
  }

  /**
   * Starts a card's work: as a durable job when the surface is one any replica can rebuild
   * (Feishu, WeCom), in this process otherwise (the console's and CLI's per-request surfaces), or
   * when the queue cannot take it.
   */
  async function start(name: string, surface: Surface, cardId: string, ctx: RequestContext, fresh: boolean, note?: ReportNote): Promise<void> {
    if (core.jobs?.takes(surface)) {
      const job: JobRequest = { cardId, runId: randomBytes(9).toString('base64url'), ctx, fresh };
      if (note) job.note = note;
      try {
        await core.jobs.submit(job);
        return;
      } catch (err) {
        log.warn({ err, card: cardId }, 'command job not queued; running it in this process');
      }
    }
    await core.tasks.run(name, () => run(surface, cardId, ctx, fresh, note));
  }

  function runJob(surface: Surface, job: JobRequest, signal: AbortSignal): Promise<void> {
    return run(surface, job.cardId, job.ctx, job.fresh, job.note, signal, job.runId);
  }

  async function command(surface: Surface, ctx: RequestContext, text: string, origin?: Origin): Promise<{ card: CardRecord; done: Promise<void> }> {
    /** A command answered at once (help, a parse error, no such vendor): one final card, no run. */
    const answered = async (state: CardRecord['state']) => {
      const card = newCard(ctx, state, origin);
      await saveCard(store, card);
      return { card: await show(surface, card, true), done: Promise.resolve() };
    };
    const parsed = core.vendors.aliases ? parseCommand(text, core.vendors.aliases) : parseCommand(text);
    if (!parsed.ok || parsed.command.kind === 'help') {
      return answered(parsed.ok ? { kind: 'help' } : { kind: 'parse_error', error: parsed.error });
    }
    let normalised: QualityCommandText;
    try {
      normalised = commandText(core, parsed.command, ctx).text;
    } catch (err) {
      return answered({ kind: 'error', error: errorInfo(asMeetcheckError(err)) });
    }
    let card = newCard(ctx, { kind: 'querying', since: clock.now() }, origin, normalised);
    card.label = meetingLabel(parsed.command.meeting);
    await saveCard(store, card);
    if (!card.handle && core.jobs?.takes(surface)) {
      // Durable: queued before the platform is acked, and the job sends the first card (the reply
      // uuid makes it land once), so a replica dying right after the ack loses nothing.
      return { card, done: start('quality command', surface, card.id, ctx, false) };
    }
    card = await show(surface, card, false);
    const done = start('quality command', surface, card.id, ctx, false);
    return { card, done };
  }

  /** Puts the card back on "querying…" and re-runs its command (refresh, or an expired report). */
  async function rerun(surface: Surface, card: CardRecord, ctx: RequestContext, filter: Filter, note?: ReportNote): Promise<ClickAnswer> {
    const next = await updateCard(store, card.id, (c) => {
      const n: CardRecord = { ...c, filter, page: 0, state: { kind: 'querying', since: clock.now() } };
      if (note) n.note = note;
      return n;
    });
    if (!next) return { view: expiredView(card) };
    const begin = () => start('quality rerun', surface, card.id, ctx, true, note);
    if (surface.clickWaitMs <= 0) {
      const v = await view(surface, next);
      return { view: v, toast: { type: 'info', text: note ? noteText(lang, note) : v.kind === 'querying' ? v.title : '' }, after: () => void begin() };
    }
    // Wait a little: a quick answer replaces the card now; a slow one leaves "querying…", whose
    // button shows the result once it is in.
    const ac = new AbortController();
    const settled = async () => {
      await begin();
      // A queued re-run may finish on any replica: watch the card record, not the job.
      while (core.jobs?.takes(surface) && !ac.signal.aborted && (await loadCard(store, card.id))?.state.kind === 'querying') {
        await clock.sleep(QUEUED_POLL_MS, ac.signal).catch(() => undefined);
      }
    };
    await Promise.race([settled(), clock.sleep(surface.clickWaitMs, ac.signal).catch(() => undefined)]);
    ac.abort();
    return { view: await view(surface, (await loadCard(store, card.id)) ?? next) };
  }

  async function click(surface: Surface, ctx: RequestContext, value: unknown, handle?: string): Promise<ClickAnswer> {
    try {
      const action = decodeAction(value);
      if (!action) return { toast: { type: 'error', text: t(lang, 'err.report_expired') } };
      let card = await loadCard(store, action.cardId);
      if (!card) {
        const message = describeError(lang, new MeetcheckError('report_expired'));
        return { toast: { type: 'error', text: message.text } };
      }
      if (card.chat.channel !== ctx.channel || card.chat.chatId !== ctx.chatId) {
        return { toast: { type: 'error', text: t(lang, 'err.foreign_chat') } };
      }
      // A card posted without a reply (the meeting-end report) learns its message from its first click.
      if (handle && !card.handle) card = (await updateCard(store, card.id, (c) => ({ ...c, handle }))) ?? card;
      if (action.op === 'help') {
        return { view: { kind: 'message', card, message: describeHelp(lang, vendorNames()), buttons: [] } };
      }
      const running = card.state.kind === 'querying' && clock.now() - card.state.since < STUCK_MS;
      if (action.op === 'show' || running) return { view: await view(surface, card) };
      if (action.op === 'refresh') return card.command ? rerun(surface, card, ctx, action.filter) : { view: await view(surface, card) };
      // A page flip or filter toggle: from the store alone.
      if (card.state.kind !== 'report' || !card.reportId) return { view: await view(surface, card) };
      try {
        const page = await readPage(store, card.chat, { reportId: card.reportId, page: action.page, filter: action.filter }, surface.pageSize);
        const next = await updateCard(store, card.id, (c) => ({ ...c, page: page.page, filter: action.filter })) ?? card;
        return { view: { kind: 'report', card: next, page } };
      } catch (err) {
        const e = asMeetcheckError(err);
        if (e.code !== 'report_expired') throw err;
        if (!card.command) return { view: expiredView(card) };
        return rerun(surface, card, ctx, action.filter, { key: 'note.expiredRerun' });
      }
    } catch (err) {
      const e = err instanceof StoreUnavailableError ? new MeetcheckError('store_unavailable') : asMeetcheckError(err);
      if (e.code === 'internal') log.error({ err }, 'card click failed');
      return { toast: { type: 'error', text: describeError(lang, e).text } };
    }
  }

  async function resume(surface: Surface, cardId: string, ctx: RequestContext, note?: ReportNote): Promise<void> {
    const card = await updateCard(store, cardId, (c) => ({ ...c, state: { kind: 'querying', since: clock.now() } }));
    if (!card) return;
    await show(surface, card, false);
    await start('quality resume', surface, cardId, ctx, true, note);
  }

  return {
    command,
    click,
    view,
    resume,
    runJob,
    unavailable: () => describeError(lang, new MeetcheckError('store_unavailable')),
  };
}

function qualityCommand(text: QualityCommandText): QualityCommand {
  const cmd: QualityCommand = { kind: 'quality', meeting: text.meeting, problemsOnly: text.problemsOnly };
  if (text.at) cmd.at = text.at;
  return cmd;
}
