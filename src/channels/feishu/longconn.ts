import { AsyncLocalStorage } from 'node:async_hooks';

/**
 * Card clicks over Feishu's long connection.
 *
 * The SDK's `WSClient.handleEventData` handles only frames whose `type` header is `event`
 * (@larksuiteoapi/node-sdk 1.74.0 lib/index.js: `if (type !== MessageType.event) return;`), although
 * the protocol has `MessageType.card`. Feishu delivers `card.action.trigger` as `card` frames for
 * some apps (larksuite/openclaw-lark src/core/lark-client.ts: "SDK 的 handleEventData 只处理
 * type=event，card action 回调是 type=card 会被丢弃"; riba2534/happyclaw#258; foxzool/openlark#631)
 * and as `event` frames for others (larksuite/node-sdk#114). Dropped, the click gets no answer
 * and the client shows 200341 after 3 s. So, as Feishu's own plugin does, a `card` frame is handed
 * to the SDK's own handler with its type rewritten to `event`: the SDK then merges fragments,
 * dispatches by the payload's `header.event_type` and sends the handler's result back as that
 * frame's answer (`{code:200, data: base64(JSON)}`), exactly as for events. There is no documented
 * hook for this; test/feishu/longconn.test.ts pins the behaviour against the installed SDK.
 */

/** A frame as the SDK decodes it (pbbp2.Frame): string headers, payload bytes, ids. */
export interface SdkFrame {
  headers: { key: string; value: string }[];
  [field: string]: unknown;
}

interface FrameContext {
  /** The frame's type as Feishu sent it (before any rewrite). */
  type: string | undefined;
  /** Work to run once the SDK has sent this frame's answer. */
  after: (() => void)[];
}

const current = new AsyncLocalStorage<FrameContext>();

export const frameType = (frame: SdkFrame): string | undefined => frame.headers?.find((h) => h.key === 'type')?.value;

/** The same frame with its `type` header set to `event`; other headers and fields as they were. */
export function asEventFrame(frame: SdkFrame): SdkFrame {
  return { ...frame, headers: frame.headers.map((h) => (h.key === 'type' ? { ...h, value: 'event' } : h)) };
}

/** The type of the frame being handled (in a dispatcher handler), as Feishu sent it. */
export function currentFrameType(): string | undefined {
  return current.getStore()?.type;
}

/**
 * Runs `fn` once the answer to the frame being handled has gone out: a card patched before the
 * callback is answered may be reverted (open.feishu.cn/document/feishu-cards/card-callback-communication).
 * Outside a frame it runs on the next turn of the event loop.
 */
export function afterFrameAnswer(fn: () => void): void {
  const ctx = current.getStore();
  if (ctx) ctx.after.push(fn);
  else setImmediate(fn);
}

/**
 * Makes `client` (a lark.WSClient) dispatch `card` frames like `event` frames. `onError` hears about
 * follow-up work that threw; it never reaches the SDK.
 */
export function acceptCardFrames(client: object, onError: (err: unknown) => void): void {
  const target = client as { handleEventData?: (frame: SdkFrame) => Promise<void> };
  const original = target.handleEventData;
  // Fail at start-up, not silently at the first click, if a future SDK renames the method.
  if (typeof original !== 'function') throw new Error('lark WSClient has no handleEventData: card frames cannot be accepted with this SDK version');
  target.handleEventData = async (frame: SdkFrame) => {
    const type = frameType(frame);
    const ctx: FrameContext = { type, after: [] };
    try {
      await current.run(ctx, () => original.call(client, type === 'card' ? asEventFrame(frame) : frame));
    } finally {
      for (const fn of ctx.after) {
        try {
          fn();
        } catch (err) {
          onError(err);
        }
      }
    }
  };
}
