import type { Logger as SdkLogger } from '@wecom/aibot-node-sdk';
import type { Logger } from '../../log.js';

/**
 * Small pieces the long-connection client needs around @wecom/aibot-node-sdk: its logger
 * interface on pino, and a second chance for frames its parser refuses.
 */

/** The SDK logs `(message, ...args)` to console by default; route it through pino instead. */
export function sdkLogger(log: Logger): SdkLogger {
  const child = log.child({ component: 'wecom-ws-sdk' });
  const at = (level: 'debug' | 'info' | 'warn' | 'error') => (message: string, ...args: unknown[]) => {
    if (!child.isLevelEnabled(level)) return;
    const detail = args.map((a) => (a instanceof Error ? a.message : typeof a === 'string' ? a.slice(0, 500) : a));
    child[level](detail.length ? { detail } : {}, String(message));
  };
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/**
 * What the SDK (1.0.7 npm build, dist/index.esm.js:310) removes before JSON.parse: raw control
 * characters except tab and newline. That line is not in its GitHub source, which suggests WeCom
 * was seen sending them.
 */
const SDK_STRIPPED = /[\x00-\x08\x0B-\x0D\x0E-\x1F]/g;

/** True when the SDK's own parser accepts the frame (so it has already been handled). */
export function sdkParses(text: string): boolean {
  try {
    JSON.parse(text.replace(SDK_STRIPPED, ''));
    return true;
  } catch {
    return false;
  }
}

/**
 * The SDK keeps raw tab and newline, which JSON forbids inside strings (RFC 8259 §7): a frame with
 * a raw line break in a message text would be dropped. Escape the control characters that sit
 * inside strings, drop the rest as the SDK does, and try once more. Undefined when still not JSON.
 */
export function repairFrame(text: string): unknown {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const ch of text) {
    const code = ch.charCodeAt(0);
    if (inString) {
      if (escaped) escaped = false;
      else if (ch === '\\') escaped = true;
      else if (ch === '"') inString = false;
      if (code < 0x20) {
        if (ch === '\n') out += '\\n';
        else if (ch === '\t') out += '\\t';
        else if (ch === '\r') out += '\\r';
        // Other control characters: dropped, as the SDK does.
        continue;
      }
    } else if (ch === '"') inString = true;
    else if (code < 0x20 && ch !== '\n' && ch !== '\t' && ch !== '\r') continue;
    out += ch;
  }
  try {
    return JSON.parse(out);
  } catch {
    return undefined;
  }
}
