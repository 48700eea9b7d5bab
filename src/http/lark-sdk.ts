import { createRequire } from 'node:module';
import type * as Lark from '@larksuiteoapi/node-sdk';

let sdk: typeof Lark | undefined;

/**
 * The lark SDK, loaded on first use. Importing it costs a Node process about 55 MB of RSS (an empty
 * process: 43 MB; one that only imports it: 97 MB), which a bot without Feishu (demo mode, WeCom
 * only) should not pay. The package is CommonJS (`main: ./lib/index.js`), so a synchronous require
 * loads it the moment the first Feishu client or connection is built.
 */
export function larkSdk(): typeof Lark {
  sdk ??= createRequire(import.meta.url)('@larksuiteoapi/node-sdk') as typeof Lark;
  return sdk;
}
