import { describe, expect, it } from 'vitest';
import { createBot } from '../../src/channels/wecom/bot.js';
import type { Inbound } from '../../src/channels/wecom/inbound.js';
import type { MeetingReport } from '../../src/core/model.js';
import type { VendorClient } from '../../src/core/vendor.js';
import { attendee, manualClock, report, testCore } from '../helpers/core.js';

type Card = { task_id: string; main_title: { title: string }; sub_title_text?: string; button_list: { text: string; key: string }[] };

/** A vendor whose answers wait for the test, to see what a click shows while a refresh is slow. */
function gatedVendor() {
  let calls = 0;
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  const v: VendorClient = {
    name: 'wecom',
    async fetchReport(): Promise<MeetingReport> {
      calls++;
      await gate;
      return report([attendee(`a${calls}`, { worst: calls > 1 ? 4 : 1 })], { meeting: { vendor: 'wecom', code: '123456789', meetingId: 'm', ended: true, subject: `run ${calls}` } });
    },
  };
  return {
    v,
    get calls() {
      return calls;
    },
    block() {
      gate = new Promise((r) => (open = r));
    },
    release: () => open(),
  };
}

const chat = { userid: 'u1', chatid: 'G1', chattype: 'group' as const };

describe('refresh that outlasts the 5 s click window', () => {
  it('answers at once with a querying card, then shows the new report on the next click', async () => {
    const clock = manualClock();
    const vendor = gatedVendor();
    const core = testCore([vendor.v], { clock, settings: { lang: 'en' } });
    const bot = createBot({ core, pageSize: 6 });
    const first = (await bot.handle({ kind: 'text', msgid: 'm1', text: '@bot /quality 123456789', ...chat })) as { stream: { id: string } };
    await core.tasks.idle();
    const done = (await bot.handle({ kind: 'stream', msgid: 'r1', streamId: first.stream.id, ...chat })) as { template_card: Card };
    const card = done.template_card;
    expect(card.main_title.title).toBe('run 1');

    vendor.block();
    const refresh = card.button_list.find((b) => b.text === 'Refresh')!;
    const click = (key: string) => bot.handle({ kind: 'card', msgid: `c${Math.random()}`, eventKey: key, taskId: card.task_id, cardType: 'button_interaction', ...chat } satisfies Inbound);
    const pendingAnswer = click(refresh.key);
    // The click handler is now waiting on its 3 s budget (and the refresh on the vendor).
    while (clock.waiting === 0) await new Promise((r) => setImmediate(r));
    await clock.advance(3_000);
    const waiting = (await pendingAnswer) as { template_card: Card };
    expect(waiting.template_card.task_id).toBe(card.task_id);
    expect(waiting.template_card.sub_title_text).toContain('Checking the quality');
    // A second click while it runs starts nothing new.
    const again = (await click(waiting.template_card.button_list[0]!.key)) as { template_card: Card };
    expect(again.template_card.sub_title_text).toContain('Checking the quality');
    expect(vendor.calls).toBe(2);

    vendor.release();
    await core.tasks.idle();
    const after = (await click(waiting.template_card.button_list[0]!.key)) as { template_card: Card };
    expect(after.template_card.main_title.title).toBe('run 2');
    expect(after.template_card.task_id).toBe(card.task_id);
    expect(vendor.calls).toBe(2);
  });
});
