// The one logger: structured JSON lines (pino). Every call-scoped line carries `callId`
// through a child logger: `logger.child({ callId })`.
import { pino, type Logger } from 'pino';

export type { Logger };

export const logger: Logger = pino({
  name: 'grok-sip',
  // Silent under tests (tap sets TAP=1 in each test process) unless GROK_SIP_LOG_LEVEL asks otherwise.
  level:
    process.env.GROK_SIP_LOG_LEVEL ??
    (process.env.NODE_ENV === 'test' || process.env.TAP === '1' ? 'silent' : 'info'),
  // Secrets never reach a log line, whatever a caller passes in.
  redact: {
    paths: ['apiKey', '*.apiKey', 'password', '*.password', 'headers.authorization', '*.authorization'],
    censor: '***',
  },
});

/**
 * Logs a given problem once per key (e.g. one malformed-JSON warning per realtime session,
 * one malformed-SIP warning per source address and reason) so a flood of bad input cannot
 * flood the log.
 */
export class LogOnce {
  readonly #seen = new Set<string>();
  readonly #max: number;
  constructor(max = 1000) {
    this.#max = max;
  }
  /** Returns true the first time `key` is seen (and the caller should log). */
  first(key: string): boolean {
    if (this.#seen.has(key)) return false;
    if (this.#seen.size >= this.#max) this.#seen.clear();
    this.#seen.add(key);
    return true;
  }
}
