/**
 * The WeCom callback crypto now lives in src/edge/msgcrypt.ts, one WXBizMsgCrypt for the WeCom bot
 * and the Tencent Meeting webhook (doc 101033). These names stay so imports from here still compile.
 */
export { createWecomCrypto, MsgCryptError as WecomCryptoError, sortedSha1 as sha1Signature, type CryptoFailure, type WecomCrypto } from '../../edge/msgcrypt.js';
export { aesKeyOf as aesKeyFrom } from '../../edge/msgcrypt.js';
