import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Secrets never reach the log: these paths are censored wherever they appear, and config values
 * are only ever logged through Config.describe() (names, never values).
 */
export const REDACT_PATHS = [
  'secret', '*.secret', 'token', '*.token', 'access_token', '*.access_token', 'tenant_access_token', '*.tenant_access_token',
  'app_secret', '*.app_secret', 'appSecret', '*.appSecret', 'encryptKey', '*.encryptKey', 'aesKey', '*.aesKey',
  'authorization', '*.authorization', 'headers.authorization', 'req.headers.authorization', '*.headers.authorization',
  'headers["x-tc-signature"]', '*.headers["x-tc-signature"]', 'password', '*.password',
  // Feishu user authorisation (OAuth 2): tokens, the client secret and the grant key.
  'refresh_token', '*.refresh_token', 'refreshToken', '*.refreshToken', 'accessToken', '*.accessToken',
  'user_access_token', '*.user_access_token', 'client_secret', '*.client_secret', 'encryptionKey', '*.encryptionKey',
];

export function createLogger(level = 'info', destination?: pino.DestinationStream): Logger {
  return pino(
    { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { app: 'meetcheck' } },
    destination,
  );
}

/** A logger that writes nothing, for tests and the CLI's quiet mode. */
export const silentLogger: Logger = pino({ level: 'silent' });
