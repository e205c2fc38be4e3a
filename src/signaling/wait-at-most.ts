// Shutdown steps (un-REGISTER, BYE) must not hold the process forever when a peer never answers.

/** Waits for `p` (its failure ignored), but no longer than `ms`. */
export async function waitAtMost(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([p.catch(() => undefined), new Promise((resolve) => (timer = setTimeout(resolve, ms)))]);
  clearTimeout(timer);
}
