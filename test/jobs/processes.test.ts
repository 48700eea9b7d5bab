/**
 * The durable-job tests that run real `meetcheck serve` processes, in one file so that vitest runs
 * them one after another (it runs files in parallel): each starts up to three Node processes, and
 * on a 2-core machine several at once would only slow every other test file down.
 */
import './takeover.suite.js';
import './redis-restart.suite.js';
import './many.suite.js';
