/**
 * The Tencent Meeting event crypto now lives in src/edge/msgcrypt.ts, one WXBizMsgCrypt for the
 * WeCom bot and the Tencent Meeting webhook (cloud.tencent.com/document/product/1095/51612, 54658).
 * These names stay so imports from here still compile.
 */
export {
  aesKeyOf, decodeTencentCheckStr as decodeCheckStr, decodeTencentEvent as decodeEvent, ENCODING_AES_KEY, leadingJsonObject,
  MsgCryptError as WebhookCryptoError, sortedSha1 as signatureOf, verifySortedSha1 as verifySignature, type Encoding,
} from '../../edge/msgcrypt.js';
import { aesDecrypt as decrypt, LAYOUT_TENCENT } from '../../edge/msgcrypt.js';

/** AES-256-CBC with Tencent's layout (16-byte blocks, PKCS#7 up to 32 accepted). */
export const aesDecrypt = (key: Buffer, b64: string): Buffer => decrypt(key, b64, LAYOUT_TENCENT);
