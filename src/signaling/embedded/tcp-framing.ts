// SIP over a byte stream (RFC 3261 §18.3): a message is the header block up to CRLFCRLF plus
// Content-Length bytes of body; Content-Length is mandatory on streams. CRLF runs between
// messages are keep-alives (RFC 5626 §3.5.1): a double CRLF "ping" is answered with one CRLF "pong".

const CRLFCRLF = Buffer.from('\r\n\r\n');

export type FramedItem =
  | { readonly kind: 'message'; readonly text: string }
  | { readonly kind: 'ping' }
  | { readonly kind: 'error'; readonly reason: string };

export class SipStreamFramer {
  #buffer: Buffer = Buffer.alloc(0);
  #broken = false;
  /** A message (header block + body) larger than this is a broken or hostile peer, not SIP. */
  readonly #maxMessageBytes: number;

  constructor(maxMessageBytes = 64 * 1024) {
    this.#maxMessageBytes = maxMessageBytes;
  }

  /** Bytes of an incomplete message are buffered (a message is arriving). */
  get pending(): boolean {
    return this.#buffer.length > 0;
  }

  /** Feeds bytes; returns the complete items. After an 'error' the stream cannot be resynchronised. */
  push(chunk: Buffer): FramedItem[] {
    if (this.#broken) return [];
    this.#buffer = this.#buffer.length === 0 ? chunk : Buffer.concat([this.#buffer, chunk]);
    const items: FramedItem[] = [];
    for (;;) {
      const crlfs = leadingCrlfBytes(this.#buffer);
      if (crlfs > 0) {
        if (crlfs >= 4) items.push({ kind: 'ping' });
        // A lone CRLF could be the first half of a ping split across segments: wait for more.
        if (crlfs === this.#buffer.length && crlfs < 4) break;
        this.#buffer = this.#buffer.subarray(crlfs);
        continue;
      }
      const headerEnd = this.#buffer.indexOf(CRLFCRLF);
      if (headerEnd < 0) {
        if (this.#buffer.length > this.#maxMessageBytes) return this.#fail(items, 'header block too large');
        break;
      }
      const head = this.#buffer.subarray(0, headerEnd).toString('utf8');
      const m = /^(?:content-length|l)[ \t]*:[ \t]*(\d+)[ \t]*$/im.exec(head);
      if (m === null) return this.#fail(items, 'no Content-Length on a stream transport');
      const bodyBytes = Number(m[1]);
      const total = headerEnd + 4 + bodyBytes;
      if (total > this.#maxMessageBytes) return this.#fail(items, 'message too large');
      if (this.#buffer.length < total) break;
      items.push({ kind: 'message', text: this.#buffer.subarray(0, total).toString('utf8') });
      this.#buffer = this.#buffer.subarray(total);
    }
    if (this.#buffer.length === 0) this.#buffer = Buffer.alloc(0);
    return items;
  }

  #fail(items: FramedItem[], reason: string): FramedItem[] {
    this.#broken = true;
    this.#buffer = Buffer.alloc(0);
    items.push({ kind: 'error', reason });
    return items;
  }
}

function leadingCrlfBytes(buf: Buffer): number {
  let i = 0;
  while (i + 1 < buf.length && buf[i] === 0x0d && buf[i + 1] === 0x0a) i += 2;
  return i;
}
