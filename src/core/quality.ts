import { createHash } from 'node:crypto';
import type { Logger } from '../log.js';
import type { Metrics } from '../metrics.js';
import type { Store } from '../store/types.js';
import { StoreUnavailableError } from '../store/types.js';
import type { Clock } from './clock.js';
import type { Command } from './command.js';
import { MeetcheckError, asMeetcheckError } from './errors.js';
import type { Lang } from './i18n.js';
import type { Attendee, ChannelName, MeetingReport, VendorName } from './model.js';
import { loadReport, newReportId, overallHealth, saveReport, type ChatRef, type StoredReport } from './report.js';
import { handedBack, type DurableJobs, type Tasks } from './tasks.js';
import { resolveVendor, type FetchOptions, type Progress, type QualityCommandText, type VendorClient, type VendorQuery, type VendorRegistry } from './vendor.js';

/** Everything the /quality use case needs, built once in main.ts (or a test). */
export interface CoreDeps {
  vendors: VendorRegistry;
  store: Store;
  clock: Clock;
  log: Logger;
  metrics: Metrics;
  tasks: Tasks;
  settings: CoreSettings;
  /** Durable jobs for command work (src/jobs/); unset = run in this process only. */
  jobs?: DurableJobs;
}

export interface CoreSettings {
  lang: Lang;
  /** Unset = anyone in a chat with the bot. Entries are `chatId` or `channel:chatId`. */
  allowedChats?: ReadonlySet<string>;
  /** Unset = anyone. Entries are `userId` or `channel:userId`. */
  admins?: ReadonlySet<string>;
  defaultVendor?: VendorName;
}

/** Who asked, and where: parsed from the platform's callback by the channel adapter. */
export interface RequestContext {
  channel: ChannelName;
  chatId: string;
  userId: string;
  /**
   * Set only for requests the operator configured, not a chat member typed (the meeting-end webhook
   * posting to TENCENT_MEETING_REPORT_CHAT, the CLI on the bot's own machine): allow-lists are
   * for people, so they do not apply.
   */
  trusted?: boolean;
}

export type QualityCommand = Extract<Command, { kind: 'quality' }>;

export interface RunOptions {
  /** Attendees per card page: the first page is loaded before the first card goes out. */
  pageSize: number;
  onProgress?: (p: Progress) => void;
  /** Called after each background batch of a lazily loaded report, and once when it is complete. */
  onUpdate?: (stored: StoredReport, done: boolean) => void | Promise<void>;
  deadline?: number;
  signal?: AbortSignal;
  /** Skip the short-lived shared result (the refresh button). */
  fresh?: boolean;
  /**
   * Called once the report is first stored (before its attendees load): a durable job records its
   * id as its checkpoint, so a replica taking the job over continues it (resumeReport).
   */
  onStored?: (stored: StoredReport) => Promise<void>;
  /**
   * Who holds the meeting's in-flight lock (a job's run id): the same owner finds its own lock
   * taken after a takeover and may go on, instead of waiting out the dead replica's lock.
   */
  owner?: string;
  /**
   * A durable job: losing the store stops the run with the error (the job is tried again from its
   * checkpoint once the store is back) instead of ending the card with a partial report.
   */
  durable?: boolean;
}

/** The store went away under a run (Redis lost): a durable job retries rather than answering. */
export function isStoreLoss(err: unknown): boolean {
  return err instanceof StoreUnavailableError || (err instanceof MeetcheckError && err.code === 'store_unavailable');
}

/**
 * Background loading as a tracked task whose promise rejects when the load stopped for a reason the
 * run must act on (handed back, store lost in a durable job); Tasks itself only logs failures.
 */
function backgroundLoad(deps: CoreDeps, load: () => Promise<void>): Promise<void> {
  let failed: { err: unknown } | undefined;
  return deps.tasks.run('load attendees', async () => {
    try {
      await load();
    } catch (err) {
      failed = { err };
      throw err;
    }
  }).then(() => {
    if (failed) throw failed.err;
  });
}

export interface RunResult {
  stored: StoredReport;
  /** Settles when background loading (lazy vendors) is done; already settled otherwise. */
  background: Promise<void>;
}

/** Another command for the same meeting finishing within this long hands us its result. */
const SHARED_RESULT_TTL_MS = 60_000;
/** How long one query may hold the in-flight lock before another may take over. */
const INFLIGHT_TTL_MS = 120_000;
const INFLIGHT_POLL_MS = 250;
/** Attendees loaded per background batch for lazy vendors: one card page's worth, at least 10. */
const MIN_BATCH = 10;

export function authorize(settings: CoreSettings, ctx: RequestContext): void {
  if (ctx.trusted) return;
  const inList = (list: ReadonlySet<string> | undefined, id: string) =>
    !list || list.has(id) || list.has(`${ctx.channel}:${id}`);
  if (!inList(settings.allowedChats, ctx.chatId) || !inList(settings.admins, ctx.userId)) {
    throw new MeetcheckError('not_allowed');
  }
}

export function commandText(deps: CoreDeps, cmd: QualityCommand, ctx: RequestContext): { vendor: VendorClient; text: QualityCommandText } {
  const vendor = resolveVendor(deps.vendors, cmd.meeting, ctx.channel, deps.settings.defaultVendor);
  const text: QualityCommandText = { vendor: vendor.name, meeting: { ...cmd.meeting, vendor: vendor.name }, problemsOnly: cmd.problemsOnly };
  if (cmd.at) text.at = cmd.at;
  if (cmd.hint) text.hint = cmd.hint;
  return { vendor, text };
}

/**
 * The /quality use case: authorise, pick the vendor, fetch (sharing one in-flight query per
 * meeting across commands and replicas), store the report for paging, and return it. Throws
 * MeetcheckError; channels turn that into an error card.
 */
export async function runQuality(deps: CoreDeps, ctx: RequestContext, cmd: QualityCommand, opts: RunOptions): Promise<RunResult> {
  const started = deps.clock.now();
  let vendorName = cmd.meeting.vendor ?? 'unknown';
  try {
    authorize(deps.settings, ctx);
    const { vendor, text } = commandText(deps, cmd, ctx);
    vendorName = vendor.name;
    const result = await fetchShared(deps, vendor, text, ctx, opts);
    deps.metrics.commands.inc({ vendor: vendorName, outcome: 'ok' });
    deps.log.info({ vendor: vendorName, ms: deps.clock.now() - started, attendees: result.stored.report.attendees.length }, 'quality report ready');
    return result;
  } catch (err) {
    const e = err instanceof StoreUnavailableError ? new MeetcheckError('store_unavailable', undefined, { cause: err }) : asMeetcheckError(err);
    deps.metrics.commands.inc({ vendor: vendorName, outcome: e.code });
    if (e.code === 'internal') deps.log.error({ err }, 'quality command failed');
    else deps.log.info({ vendor: vendorName, code: e.code, detail: e.detail }, 'quality command answered with an error');
    throw e;
  }
}

/** Re-runs the command behind a stored report, for the refresh button or an expired report. */
export async function rerunReport(deps: CoreDeps, ctx: RequestContext, command: QualityCommandText, opts: RunOptions): Promise<RunResult> {
  const cmd: QualityCommand = { kind: 'quality', meeting: command.meeting, problemsOnly: command.problemsOnly };
  if (command.at) cmd.at = command.at;
  if (command.hint) cmd.hint = command.hint;
  return runQuality(deps, ctx, cmd, { ...opts, fresh: true });
}

async function fetchShared(deps: CoreDeps, vendor: VendorClient, text: QualityCommandText, ctx: RequestContext, opts: RunOptions): Promise<RunResult> {
  const { lockKey, sharedKey } = meetingKeys(deps, text);
  const giveUpAt = deps.clock.now() + INFLIGHT_TTL_MS;
  const recentReport = async () => {
    const recentId = opts.fresh ? undefined : await deps.store.get(sharedKey);
    return recentId ? loadReport(deps.store, recentId) : undefined;
  };
  for (;;) {
    const recent = await recentReport();
    if (recent) return { stored: await storeFor(deps, ctx, text, recent.report), background: Promise.resolve() };
    const owner = opts.owner ?? ctx.chatId;
    if (await deps.store.setIfAbsent(lockKey, owner, INFLIGHT_TTL_MS) || (opts.owner !== undefined && (await deps.store.get(lockKey)) === opts.owner)) {
      // The holder may have finished between our look at the shared result and our taking the
      // lock (likelier across replicas, where each store call is a round trip): look once more.
      const finished = await recentReport();
      if (!finished) break;
      await deps.store.delete(lockKey);
      return { stored: await storeFor(deps, ctx, text, finished.report), background: Promise.resolve() };
    }
    if (deps.clock.now() >= giveUpAt) throw new MeetcheckError('busy');
    await deps.clock.sleep(INFLIGHT_POLL_MS, opts.signal);
  }

  let background: Promise<void> = Promise.resolve();
  try {
    const fetchOpts: FetchOptions = {};
    if (opts.signal) fetchOpts.signal = opts.signal;
    if (opts.deadline !== undefined) fetchOpts.deadline = opts.deadline;
    if (opts.onProgress) fetchOpts.onProgress = opts.onProgress;
    const query: VendorQuery = { meeting: text.meeting, lang: deps.settings.lang };
    if (text.at) query.at = text.at;
    if (text.hint) query.hint = text.hint;
    if (!ctx.trusted) query.asker = { channel: ctx.channel, chatId: ctx.chatId, userId: ctx.userId };
    const report = await vendor.fetchReport(query, fetchOpts);
    const stored = await storeFor(deps, ctx, text, report);
    await opts.onStored?.(stored);
    const pending = vendor.loadAttendees ? report.attendees.filter((a) => !a.loaded) : [];
    if (pending.length === 0) {
      await deps.store.set(sharedKey, stored.id, SHARED_RESULT_TTL_MS);
      await deps.store.delete(lockKey);
      return { stored, background };
    }
    // Lazy vendor (Feishu): the first page's attendees before the first card, the rest behind it.
    await loadBatch(deps, vendor, stored, pending.splice(0, opts.pageSize), fetchOpts);
    await saveReport(deps.store, stored);
    // The lock covers the first answer only: a lazy load can run for minutes at the vendor's pace,
    // and a second command for the meeting must not wait that long for its first card.
    await deps.store.delete(lockKey);
    background = backgroundLoad(deps, async () => {
      await loadRest(deps, vendor, stored, pending, Math.max(MIN_BATCH, opts.pageSize), fetchOpts, opts.onUpdate, opts.durable);
      if (stored.report.complete) await deps.store.set(sharedKey, stored.id, SHARED_RESULT_TTL_MS);
    });
    return { stored, background };
  } catch (err) {
    await deps.store.delete(lockKey).catch(() => undefined);
    throw err;
  }
}

/** The meeting's in-flight lock and shared-result keys: one vendor query per meeting across replicas. */
function meetingKeys(deps: CoreDeps, text: QualityCommandText): { lockKey: string; sharedKey: string } {
  const meetingKey = createHash('sha256').update(JSON.stringify([text.vendor, text.meeting.code ?? text.meeting.id, text.at ?? null, deps.settings.lang, ...(text.hint ? [text.hint] : [])])).digest('base64url');
  return { lockKey: `inflight:${meetingKey}`, sharedKey: `recent:${meetingKey}` };
}

async function storeFor(deps: CoreDeps, ctx: RequestContext, text: QualityCommandText, report: MeetingReport): Promise<StoredReport> {
  const chat: ChatRef = { channel: ctx.channel, chatId: ctx.chatId };
  const stored: StoredReport = { id: newReportId(), createdAt: deps.clock.now(), chat, lang: deps.settings.lang, command: text, report };
  await saveReport(deps.store, stored);
  return stored;
}

async function loadBatch(deps: CoreDeps, vendor: VendorClient, stored: StoredReport, batch: Attendee[], opts: FetchOptions): Promise<void> {
  if (batch.length === 0 || !vendor.loadAttendees) return;
  const loaded = await vendor.loadAttendees(stored.report, batch, { ...opts, lang: stored.lang });
  const byKey = new Map(loaded.map((a) => [a.key, a]));
  stored.report.attendees = stored.report.attendees.map((a) => byKey.get(a.key) ?? a);
  stored.report.health = overallHealth(stored.report.attendees);
}

async function loadRest(
  deps: CoreDeps, vendor: VendorClient, stored: StoredReport, pending: Attendee[], batchSize: number,
  opts: FetchOptions, onUpdate: RunOptions['onUpdate'], durable = false,
): Promise<void> {
  while (pending.length > 0) {
    try {
      await loadBatch(deps, vendor, stored, pending.splice(0, batchSize), opts);
    } catch (err) {
      // Handed back: the last saved batch is the checkpoint; the next owner loads the rest.
      // Store lost in a durable job: the job is tried again and continues from the same checkpoint.
      if (handedBack(opts.signal) || (durable && isStoreLoss(err))) throw err;
      const e = asMeetcheckError(err);
      deps.log.warn({ vendor: vendor.name, code: e.code, detail: e.detail }, 'background loading stopped');
      stored.report.complete = false;
      stored.report.notes.push({ key: 'summary.partial', params: { reason: { key: `err.${e.code}`, params: { seconds: Math.ceil((e.options.retryAfterMs ?? 60_000) / 1000) } } } });
      await saveReport(deps.store, stored);
      await onUpdate?.(stored, true);
      return;
    }
    await saveReport(deps.store, stored);
    if (pending.length > 0) await onUpdate?.(stored, false);
  }
  await onUpdate?.(stored, true);
}

/**
 * Continues a report a job stored before its replica died or handed it back: loads only the
 * attendees not yet loaded (the saved batches are kept), first a page's worth, the rest behind it,
 * as fetchShared does. Undefined when the report is gone (expired) or its vendor is not configured.
 */
export async function resumeReport(deps: CoreDeps, reportId: string, opts: RunOptions): Promise<RunResult | undefined> {
  const stored = await loadReport(deps.store, reportId);
  if (!stored) return undefined;
  const vendor = deps.vendors.get(stored.command.vendor);
  if (!vendor) return undefined;
  const pending = vendor.loadAttendees ? stored.report.attendees.filter((a) => !a.loaded) : [];
  deps.log.info({ vendor: vendor.name, report: reportId, pending: pending.length }, 'resuming a report from its checkpoint');
  // What fetchShared would have done next: release the meeting's in-flight lock if the dead owner
  // (this job, by its run id) still holds it, so other commands for the meeting stop waiting on
  // it, and share the result once complete.
  const { lockKey, sharedKey } = meetingKeys(deps, stored.command);
  const release = async () => {
    if (opts.owner !== undefined && (await deps.store.get(lockKey)) === opts.owner) await deps.store.delete(lockKey);
  };
  const share = async () => {
    if (stored.report.complete) await deps.store.set(sharedKey, stored.id, SHARED_RESULT_TTL_MS);
  };
  if (pending.length === 0) {
    await release();
    await share();
    return { stored, background: Promise.resolve() };
  }
  const fetchOpts: FetchOptions = {};
  if (opts.signal) fetchOpts.signal = opts.signal;
  if (opts.deadline !== undefined) fetchOpts.deadline = opts.deadline;
  if (opts.onProgress) fetchOpts.onProgress = opts.onProgress;
  await loadBatch(deps, vendor, stored, pending.splice(0, opts.pageSize), fetchOpts);
  await saveReport(deps.store, stored);
  await release();
  const background = backgroundLoad(deps, async () => {
    await loadRest(deps, vendor, stored, pending, Math.max(MIN_BATCH, opts.pageSize), fetchOpts, opts.onUpdate, opts.durable);
    if (stored.report.complete) await deps.store.set(sharedKey, stored.id, SHARED_RESULT_TTL_MS);
  });
  return { stored, background };
}
