// Notices a WebSocket message that starts and never ends. `ws` assembles a frame (and the
// fragments of a message) silently until it is complete, bounded in size by maxPayload but not
// in time: a server that sends a first fragment with FIN=0 and then nothing, or a frame header
// announcing 1000 bytes followed by 10, leaves the agent mute with no event to react to. This
// reads the same bytes as `ws` (a second 'data' listener on the socket) and tracks only frame
// boundaries, never payloads.
//
// Frame header, RFC 6455 §5.2 (server frames are unmasked; masked ones are parsed all the same):
//
//    0                   1                   2                   3
//    0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
//   +-+-+-+-+-------+-+-------------+-------------------------------+
//   |F|R|R|R| opcode|M| Payload len |    Extended payload length    |
//   |I|S|S|S|  (4)  |A|     (7)     |             (16/64)           |
//   |N|V|V|V|       |S|             |   (if payload len==126/127)   |
//   | |1|2|3|       |K|             |                               |
//   +-+-+-+-+-------+-+-------------+ - - - - - - - - - - - - - - - +
//   |  Extended payload length continued, if payload len == 127     |
//   + - - - - - - - - - - - - - - - +-------------------------------+
//   |                               |Masking-key, if MASK set to 1  |
//   +-------------------------------+-------------------------------+
//
// Control frames (opcode ≥ 8) may come between the fragments of a message (§5.4): they end
// their own frame but not the message.
import { performance } from 'node:perf_hooks';

/** The slice of a socket this needs (net.Socket, tls.TLSSocket). */
export interface ByteSource {
  on(event: 'data', listener: (chunk: Buffer) => void): unknown;
  off(event: 'data', listener: (chunk: Buffer) => void): unknown;
}

export class StalledFrameWatch {
  readonly #limitMs: number;
  readonly #onStall: (stalledMs: number) => void;
  readonly #header = Buffer.alloc(14);
  #headerHave = 0;
  #headerNeed = 2;
  #payloadLeft = 0;
  /** When the first byte of the frame now being read arrived; null between frames. */
  #frameStartMs: number | null = null;
  /** When the first fragment (FIN=0) of the message now being assembled arrived. */
  #messageStartMs: number | null = null;
  #timer: NodeJS.Timeout | undefined;
  #source: ByteSource | null = null;
  #stopped = false;
  readonly #onData = (chunk: Buffer): void => this.push(chunk);

  constructor(limitMs: number, onStall: (stalledMs: number) => void) {
    this.#limitMs = limitMs;
    this.#onStall = onStall;
  }

  /**
   * Reads `source` alongside `ws`. Attach only once `ws` has its own listener (its 'open'):
   * a listener added earlier makes the socket flow before `ws` unshifts the bytes that came
   * with the upgrade response, and `ws` would never see them.
   */
  watch(source: ByteSource): void {
    this.#source = source;
    source.on('data', this.#onData);
  }

  stop(): void {
    this.#stopped = true;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#source?.off('data', this.#onData);
    this.#source = null;
  }

  /** True while a frame or a fragmented message is incomplete. */
  get incomplete(): boolean {
    return this.#frameStartMs !== null || this.#messageStartMs !== null;
  }

  push(chunk: Buffer, nowMs = performance.now()): void {
    let i = 0;
    while (i < chunk.length) {
      if (this.#payloadLeft > 0) {
        const take = Math.min(this.#payloadLeft, chunk.length - i);
        this.#payloadLeft -= take;
        i += take;
        if (this.#payloadLeft === 0) this.#frameStartMs = null;
        continue;
      }
      if (this.#headerHave === 0) this.#frameStartMs = nowMs;
      this.#header[this.#headerHave++] = chunk[i++]!;
      if (this.#headerHave === 2) {
        const len7 = this.#header[1]! & 0x7f;
        const masked = (this.#header[1]! & 0x80) !== 0;
        this.#headerNeed = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
      }
      if (this.#headerHave === this.#headerNeed) this.#endHeader(nowMs);
    }
    if (this.incomplete) this.#arm(nowMs);
  }

  #endHeader(nowMs: number): void {
    const b0 = this.#header[0]!;
    const len7 = this.#header[1]! & 0x7f;
    const length =
      len7 === 126
        ? this.#header.readUInt16BE(2)
        : len7 === 127
          ? Number(this.#header.readBigUInt64BE(2))
          : len7;
    const opcode = b0 & 0x0f;
    if (opcode < 8) {
      const fin = (b0 & 0x80) !== 0;
      if (!fin) this.#messageStartMs ??= nowMs;
      else this.#messageStartMs = null;
    }
    this.#headerHave = 0;
    this.#headerNeed = 2;
    this.#payloadLeft = length;
    if (length === 0) this.#frameStartMs = null;
  }

  #oldestStartMs(): number | null {
    const frame = this.#frameStartMs;
    const message = this.#messageStartMs;
    if (frame === null) return message;
    if (message === null) return frame;
    return Math.min(frame, message);
  }

  /** One timer at most; it re-arms itself for what is left rather than per frame. */
  #arm(nowMs: number): void {
    if (this.#timer !== undefined || this.#stopped) return;
    const since = this.#oldestStartMs();
    if (since === null) return;
    this.#timer = setTimeout(() => this.#check(), Math.max(1, since + this.#limitMs - nowMs));
    this.#timer.unref();
  }

  #check(): void {
    this.#timer = undefined;
    if (this.#stopped) return;
    const nowMs = performance.now();
    const since = this.#oldestStartMs();
    if (since === null) return;
    const stalledMs = nowMs - since;
    if (stalledMs >= this.#limitMs) {
      this.stop();
      this.#onStall(stalledMs);
      return;
    }
    this.#arm(nowMs);
  }
}
