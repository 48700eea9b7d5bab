/**
 * REDIS_URL as it may appear in logs and errors: the password (and a user name, which some hosted
 * Redis services make secret too) replaced by `***`. An unparsable URL shows only its scheme.
 */
export function redactRedisUrl(raw: string): string {
  try {
    const u = new URL(raw);
    if (u.password) u.password = '***';
    if (u.username) u.username = '***';
    return u.toString();
  } catch {
    const scheme = /^rediss?:/.exec(raw)?.[0];
    return scheme ? `${scheme}//(unparsable URL)` : '(unparsable REDIS_URL)';
  }
}
