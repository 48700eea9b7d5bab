import { ConfigError, loadConfig } from '../../src/config.js';

/** The one-line message loadConfig stops with for `env`; a test fails if it starts instead. */
export function configError(env: Record<string, string>): string {
  try {
    loadConfig(env);
  } catch (e) {
    if (e instanceof ConfigError) return e.message;
    throw e;
  }
  throw new Error('expected a ConfigError');
}
