// How much of each agent item the caller actually heard. The playout queue holds bytes, not
// items; this keeps the item boundaries beside it so that barge-in can truncate the agent's item
// at the ms that left on RTP, not at what the model generated (../shared/notes/peers.md §7.2).

const frameMs = 20;

interface QueuedItem {
  readonly itemId: string;
  queuedMs: number;
}

export interface InterruptedItem {
  readonly itemId: string;
  /** Agent audio of this item already sent to the caller. */
  readonly playedMs: number;
}

export class AgentPlayback {
  readonly #queue: QueuedItem[] = [];
  readonly #playedMs = new Map<string, number>();
  /** The item whose audio went out last (the one the caller was hearing). */
  #current: string | null = null;

  queued(itemId: string, ms: number): void {
    const tail = this.#queue.at(-1);
    if (tail !== undefined && tail.itemId === itemId) tail.queuedMs += ms;
    else this.#queue.push({ itemId, queuedMs: ms });
  }

  /** One 20 ms frame of agent audio went out on RTP. */
  played(): void {
    let head = this.#queue[0];
    // Padding from flush() and rounding leave crumbs below a frame: they belong to the item.
    while (head !== undefined && head.queuedMs <= 0 && this.#queue.length > 1) {
      this.#queue.shift();
      head = this.#queue[0];
    }
    if (head === undefined) return;
    head.queuedMs -= frameMs;
    this.#current = head.itemId;
    this.#playedMs.set(head.itemId, (this.#playedMs.get(head.itemId) ?? 0) + frameMs);
  }

  /** The queue was cleared (barge-in): returns the item the caller was hearing, if any. */
  interrupt(): InterruptedItem | null {
    this.#queue.length = 0;
    const itemId = this.#current;
    this.#current = null;
    if (itemId === null) return null;
    return { itemId, playedMs: this.#playedMs.get(itemId) ?? 0 };
  }
}
