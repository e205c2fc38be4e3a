// Shutdown steps (un-REGISTER, BYE) must not hold the process forever when a peer never answers.
import { ignore } from '../observability/ignored-errors.js';

/** Waits for `p` (its failure counted and logged once under `where`, then ignored), but no longer than `ms`. */
export async function waitAtMost(p: Promise<unknown>, ms: number, where = 'shutdown.step'): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(ignore(where)), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
