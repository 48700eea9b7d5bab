import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/log.js';
import { startServer, type Running } from '../../src/main.js';
import { createMemoryStore } from '../../src/store/memory.js';
import { StoreUnavailableError, type Store } from '../../src/store/types.js';
import { FAKE_CORP_ID, FAKE_SECRET, fakeMeeting, qualityRow, startFakeWecomApi, type FakeWecomApi } from '../fakes/wecom-api.js';
import { createBotSimulator, type BotSimulator, type Chat } from '../fakes/wecom-bot.js';

const TOKEN = 'hJqcu3uJ9Tn2gXPmxx2w9kkCkCE2EPYo';
const KEY = '6qkdMrq68nTKduznJYO1A37W2oEgpkMUvkttRToqhUt';
const GROUP: Chat = { chatid: 'wrkSFfCgAAxxxx', userid: 'zhangsan' };

/** A store whose backend can be cut, as a lost Redis is: every call fails at once. */
function cuttableStore(): Store & { down: boolean } {
  const inner = createMemoryStore();
  const guard = <A extends unknown[], R>(fn: (...a: A) => Promise<R>) => (...a: A): Promise<R> =>
    wrapper.down ? Promise.reject(new StoreUnavailableError('redis unreachable')) : fn(...a);
  const wrapper = {
    down: false,
    get: guard(inner.get), set: guard(inner.set), setIfAbsent: guard(inner.setIfAbsent), delete: guard(inner.delete), take: guard(inner.take),
    close: inner.close,
  };
  return wrapper;
}

let api: FakeWecomApi;
let app: Running;
let sim: BotSimulator;
let store: ReturnType<typeof cuttableStore>;

beforeEach(async () => {
  api = await startFakeWecomApi();
  store = cuttableStore();
  const config = loadConfig({
    PORT: '0', HOST: '127.0.0.1', LOG_LEVEL: 'silent', MEETCHECK_LANG: 'en',
    WECOM_BOT_TOKEN: TOKEN, WECOM_BOT_AES_KEY: KEY, WECOM_CORP_ID: FAKE_CORP_ID, WECOM_MEETING_SECRET: FAKE_SECRET, WECOM_BASE_URL: api.url,
  });
  app = await startServer(config, { log: silentLogger, store });
  sim = createBotSimulator({ url: app.url, token: TOKEN, encodingAesKey: KEY });
});
afterEach(async () => {
  store.down = false;
  await app.close();
  await api.close();
});

describe('store lost while running', () => {
  it('a command, a stream refresh and a click each get "temporarily unavailable", and no vendor call', async () => {
    api.add(fakeMeeting({ rows: [qualityRow(0)] }));
    const ok = await sim.text(GROUP, '@bot /quality 123456789');
    const streamId = (ok.reply as { stream: { id: string } }).stream.id;
    await app.core.tasks.idle();
    const done = (await sim.refresh(GROUP, streamId)).reply as { template_card: { task_id: string; button_list: { key: string }[] } };
    const callsBefore = api.calls.length;

    store.down = true;
    const cmd = await sim.text(GROUP, '@bot /quality 123456789');
    expect(cmd.status).toBe(200);
    expect(cmd.reply).toMatchObject({ msgtype: 'stream', stream: { finish: true } });
    expect(JSON.stringify(cmd.reply)).toContain('Temporarily unavailable');
    const refresh = await sim.refresh(GROUP, streamId);
    expect(JSON.stringify(refresh.reply)).toContain('Temporarily unavailable');
    const click = await sim.click(GROUP, done.template_card.task_id, done.template_card.button_list[0]!.key);
    expect(click.reply).toMatchObject({ response_type: 'update_template_card', template_card: { task_id: done.template_card.task_id } });
    expect(JSON.stringify(click.reply)).toContain('Temporarily unavailable');
    await app.core.tasks.idle();
    expect(api.calls.length).toBe(callsBefore);
  });
});
