// Outbound RTP packets are written into buffers the session keeps, not into a new Buffer (and a
// new rtp.js packet) per packet. A buffer is reused only after its send callback: Node's dgram
// send is asynchronous even to an IP literal (Socket.send resolves the address with dns.lookup,
// which answers an IP on process.nextTick, and only then hands the bytes to libuv), and a send
// libuv cannot complete at once (EAGAIN: the socket buffer is full) waits in libuv's queue
// pointing at our bytes. So each buffer is in flight from send() to its callback; a burst of
// sends in one tick takes one buffer each, and steady state is one or two per session.
import type { Socket } from 'node:dgram';
import { writeRtpPacket, type RtpFields } from './rtp-datagram.js';

interface SendBuffer {
  bytes: Buffer;
  /** `bytes` cut to the last packet's length, kept while the length repeats (it nearly always does). */
  packet: Buffer;
  readonly done: (err: Error | null) => void;
}

export class RtpSendBuffers {
  readonly #free: SendBuffer[] = [];
  readonly #capacity: number;
  readonly #onSent: (err: Error | null) => void;
  #allocated = 0;

  /** `capacity`: the usual packet size (12 + one ptime of payload); bigger packets get bigger buffers. */
  constructor(capacity: number, onSent: (err: Error | null) => void) {
    this.#capacity = capacity;
    this.#onSent = onSent;
  }

  /** Buffers made so far (in flight + free): the burst size, not the packet count. */
  get allocated(): number {
    return this.#allocated;
  }

  /** Writes `fields` as an RTP packet and sends it; returns the packet's length. */
  send(socket: Socket, fields: RtpFields, port: number, address: string): number {
    const length = 12 + fields.payload.length;
    const buffer = this.#free.pop() ?? this.#allocate();
    if (buffer.bytes.length < length) buffer.bytes = Buffer.allocUnsafeSlow(length);
    if (buffer.packet.length !== length || buffer.packet.buffer !== buffer.bytes.buffer) {
      buffer.packet = buffer.bytes.subarray(0, length);
    }
    writeRtpPacket(fields, buffer.packet);
    try {
      socket.send(buffer.packet, port, address, buffer.done);
    } catch (err) {
      this.#free.push(buffer); // refused before anything was queued
      throw err;
    }
    return length;
  }

  #allocate(): SendBuffer {
    this.#allocated++;
    // allocUnsafeSlow: a buffer of its own, not a slice of Node's shared 8 KiB pool.
    const bytes = Buffer.allocUnsafeSlow(this.#capacity);
    const buffer: SendBuffer = {
      bytes,
      packet: bytes,
      done: (err) => {
        this.#free.push(buffer);
        this.#onSent(err);
      },
    };
    return buffer;
  }
}
