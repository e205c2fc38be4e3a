// Errors we choose to go on after — a provisional response that could not be sent, a BYE to a
// peer already gone, a dispose that failed on a dead session — are never silent: each is counted
// per place (grok_sip_ignored_errors_total{where}) and logged once per place, so a lost 180 or a
// BYE that never leaves shows up in the metrics instead of disappearing in a `.catch(() => {})`.
import { LogOnce, logger } from './logger.js';
import { reasonOf } from './rejected-input.js';

const log = logger.child({ module: 'ignored-errors' });

class IgnoredErrors {
  readonly #counts = new Map<string, number>();
  readonly #logOnce = new LogOnce(1024);
  readonly #threads = new Map<string, readonly [string, number][]>();

  record(where: string, err: unknown): void {
    this.#counts.set(where, (this.#counts.get(where) ?? 0) + 1);
    if (this.#logOnce.first(where)) log.warn({ where, reason: reasonOf(err) }, 'error ignored; going on');
  }

  count(where: string): number {
    return this.entries().find(([w]) => w === where)?.[1] ?? 0;
  }

  /** This thread's counts only (what a call thread reports to the main thread). */
  own(): [string, number][] {
    return [...this.#counts];
  }

  /** A call thread's running totals (already logged there), included in entries() from now on. */
  setThreadTotals(thread: string, totals: readonly [string, number][]): void {
    this.#threads.set(thread, totals);
  }

  entries(): [string, number][] {
    const sum = new Map(this.#counts);
    for (const totals of this.#threads.values())
      for (const [w, n] of totals) sum.set(w, (sum.get(w) ?? 0) + n);
    return [...sum];
  }
}

/** One per process: the metrics read it. */
export const ignoredErrors = new IgnoredErrors();

/**
 * A rejection handler for a promise whose failure we go on after: `p.catch(ignore('where'))`.
 * `where` names the place (module.action), a fixed string: it is a metric label.
 */
export function ignore(where: string): (err: unknown) => void {
  return (err: unknown) => ignoredErrors.record(where, err);
}
