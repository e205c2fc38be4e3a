// Outbound RTP packets are written into buffers the session keeps, not into a new Buffer (and a
// new rtp.js packet) per packet. A buffer is reused only after its send callback: Node's dgram
// send is asynchronous even to an IP literal (Socket.send resolves the address with dns.lookup,
// which answers an IP on process.nextTick, and only then hands the bytes to libuv), and a send
// libuv cannot complete at once (EAGAIN: the socket buffer is full) waits in libuv's queue
// pointing at our bytes. So each buffer is in flight from send() to its callback; a burst of
// sends in one tick takes one buffer each, and steady state is one or two per session.
// With SRTP the packet is protected in place in the same buffer (room for the tag kept).
import type { Socket } from 'node:dgram';
import { writeRtpPacket, type RtpFields } from './rtp-datagram.js';
import type { SrtpContext } from './srtp-context.js';

interface SendBuffer {
  bytes: Buffer;
  /** `bytes` cut to the last packet's length, kept while the length repeats (it nearly always does). */
  packet: Buffer;
  /** The same for the protected packet (SRTP). */
  wire: Buffer;
  readonly done: (err: Error | null) => void;
}

export class RtpSendBuffers {
  readonly #free: SendBuffer[] = [];
  readonly #capacity: number;
  readonly #onSent: (err: Error | null) => void;
  readonly #srtp: SrtpContext | undefined;
  readonly #trailer: number;
  #allocated = 0;

  /**
   * `capacity`: the usual packet size (12 + one ptime of payload); bigger packets get bigger
   * buffers. `srtp`: protects each packet before it is sent.
   */
  constructor(capacity: number, onSent: (err: Error | null) => void, srtp?: SrtpContext) {
    this.#srtp = srtp;
    this.#trailer = srtp?.rtpTrailerBytes ?? 0;
    this.#capacity = capacity + this.#trailer;
    this.#onSent = onSent;
  }

  /** Buffers made so far (in flight + free): the burst size, not the packet count. */
  get allocated(): number {
    return this.#allocated;
  }

  /**
   * Writes `fields` as an RTP packet and sends it; returns the length sent, or a negative SRTP
   * status when protect refused it (nothing sent: key lifetime used up).
   */
  send(socket: Socket, fields: RtpFields, port: number, address: string): number {
    const length = 12 + fields.payload.length;
    const buffer = this.#free.pop() ?? this.#allocate();
    if (buffer.bytes.length < length + this.#trailer)
      buffer.bytes = Buffer.allocUnsafeSlow(length + this.#trailer);
    if (buffer.packet.length !== length || buffer.packet.buffer !== buffer.bytes.buffer) {
      buffer.packet = buffer.bytes.subarray(0, length);
    }
    writeRtpPacket(fields, buffer.packet);
    let wire = buffer.packet;
    if (this.#srtp !== undefined) {
      const n = this.#srtp.protectRtp(buffer.bytes, length);
      if (n < 0) {
        this.#free.push(buffer);
        return n;
      }
      if (buffer.wire.length !== n || buffer.wire.buffer !== buffer.bytes.buffer) {
        buffer.wire = buffer.bytes.subarray(0, n);
      }
      wire = buffer.wire;
    }
    try {
      socket.send(wire, port, address, buffer.done);
    } catch (err) {
      this.#free.push(buffer); // refused before anything was queued
      throw err;
    }
    return wire.length;
  }

  #allocate(): SendBuffer {
    this.#allocated++;
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared 8 KiB pool.
    const bytes = Buffer.allocUnsafeSlow(this.#capacity);
    const buffer: SendBuffer = {
      bytes,
      packet: bytes,
      wire: bytes,
      done: (err) => {
        this.#free.push(buffer);
        this.#onSent(err);
      },
    };
    return buffer;
  }
}
