// RTP/RTCP port pairs for calls: an even RTP port and RTCP on RTP+1 (RFC 3550 §11), taken from
// the configured media.portMin..portMax range and bound as two UDP sockets.
import dgram from 'node:dgram';
import { isIPv6 } from 'node:net';

export interface PortPoolOptions {
  /** Local address the sockets bind to (media.rtpAddress). */
  address: string;
  portMin: number;
  portMax: number;
  /**
   * Bind attempts per allocation before giving up. Ports held by other processes fail with
   * EADDRINUSE and are skipped; bounding the attempts keeps one allocation from walking a
   * 1000-port range socket by socket while the INVITE waits.
   */
  maxBindAttempts?: number;
  /**
   * Reservations shared with the pools of other threads over the same range
   * (PortPool.sharedReservations): each thread binds its own sockets, but a pair one thread holds
   * is never tried by another, and every thread can use the whole range.
   */
  shared?: SharedArrayBuffer;
}

/**
 * Which pairs of the range are taken, and where the round-robin cursor is. In one thread a plain
 * array; across threads an Int32Array over a SharedArrayBuffer (Atomics: a pair is taken by
 * exactly one compareExchange 0 → 1).
 */
class PairReservations {
  // [0] cursor, [1] pairs in use, [2 + i] pair i taken (1) or free (0)
  readonly #cells: Int32Array;
  readonly #pairCount: number;

  constructor(pairCount: number, shared: SharedArrayBuffer | undefined) {
    this.#pairCount = pairCount;
    if (shared !== undefined && shared.byteLength !== (pairCount + 2) * 4) {
      throw new RangeError(
        `shared port reservations sized for ${shared.byteLength / 4 - 2} pairs, the range holds ${pairCount}`,
      );
    }
    this.#cells = new Int32Array(shared ?? new ArrayBuffer((pairCount + 2) * 4));
    if (shared === undefined) this.#cells[0] = Math.floor(Math.random() * pairCount);
  }

  /** The next index to try (round robin over the whole range, shared by every thread). */
  next(): number {
    const n = this.#pairCount;
    return ((Atomics.add(this.#cells, 0, 1) % n) + n) % n;
  }

  reserve(index: number): boolean {
    if (Atomics.compareExchange(this.#cells, 2 + index, 0, 1) !== 0) return false;
    Atomics.add(this.#cells, 1, 1);
    return true;
  }

  release(index: number): void {
    if (Atomics.compareExchange(this.#cells, 2 + index, 1, 0) === 1) Atomics.sub(this.#cells, 1, 1);
  }

  get inUse(): number {
    return Atomics.load(this.#cells, 1);
  }
}

/** Two bound UDP sockets for one call; `close()` closes both and returns the pair to the pool. */
export interface PortPair {
  readonly address: string;
  readonly rtpPort: number;
  readonly rtcpPort: number;
  readonly rtpSocket: dgram.Socket;
  readonly rtcpSocket: dgram.Socket;
  close(): Promise<void>;
}

export class PortPoolExhaustedError extends Error {
  readonly code = 'ERR_RTP_PORTS_EXHAUSTED';
  constructor(message: string) {
    super(message);
    this.name = 'PortPoolExhaustedError';
  }
}

export class PortPool {
  readonly address: string;
  readonly #firstEven: number;
  readonly #pairCount: number;
  readonly #maxBindAttempts: number;
  // Round-robin cursor inside: a just-released port is the last one handed out again, so stray
  // packets of the previous call (late RTP, retransmitted DTMF ends) do not land in the next.
  readonly #reservations: PairReservations;
  #eaddrinuseSkips = 0;

  constructor(options: PortPoolOptions) {
    const { address, portMin, portMax } = options;
    if (!Number.isInteger(portMin) || !Number.isInteger(portMax) || portMin < 1 || portMax > 65535) {
      throw new RangeError(`RTP port range ${portMin}-${portMax} (integers in 1..65535)`);
    }
    this.address = address;
    this.#firstEven = portMin % 2 === 0 ? portMin : portMin + 1;
    // The last usable RTP port must leave room for its RTCP port inside the range.
    this.#pairCount = Math.max(0, Math.floor((portMax - 1 - this.#firstEven) / 2) + 1);
    if (this.#pairCount === 0) {
      throw new RangeError(`RTP port range ${portMin}-${portMax} holds no even/odd port pair`);
    }
    this.#maxBindAttempts = options.maxBindAttempts ?? 32;
    this.#reservations = new PairReservations(this.#pairCount, options.shared);
  }

  /** Reservations for pools in several threads over one range (PortPoolOptions.shared). */
  static sharedReservations(portMin: number, portMax: number): SharedArrayBuffer {
    const firstEven = portMin % 2 === 0 ? portMin : portMin + 1;
    const pairCount = Math.max(0, Math.floor((portMax - 1 - firstEven) / 2) + 1);
    const shared = new SharedArrayBuffer((pairCount + 2) * 4);
    new Int32Array(shared)[0] = Math.floor(Math.random() * Math.max(1, pairCount));
    return shared;
  }

  /** Number of pairs the range holds. */
  get capacity(): number {
    return this.#pairCount;
  }

  /** Pairs in use (with shared reservations: by every thread's pool). */
  get inUse(): number {
    return this.#reservations.inUse;
  }

  /** Ports found taken by someone else (EADDRINUSE) and skipped, since start. */
  get eaddrinuseSkips(): number {
    return this.#eaddrinuseSkips;
  }

  /**
   * Binds the next free pair. Rejects with PortPoolExhaustedError when every pair is in use by
   * our calls or the bind attempts ran out on ports taken by other processes, and with the bind
   * error itself for anything else (EADDRNOTAVAIL: the address is not on this host, EACCES).
   */
  async allocate(): Promise<PortPair> {
    let attempts = 0;
    for (let scanned = 0; scanned < this.#pairCount; scanned++) {
      const index = this.#reservations.next();
      const rtpPort = this.#firstEven + index * 2;
      if (attempts >= this.#maxBindAttempts) break;
      // Reserve before the await so a concurrent allocate() (here or in another thread) does not
      // try the same pair.
      if (!this.#reservations.reserve(index)) continue;
      attempts++;
      try {
        return await this.#bindPair(rtpPort, index);
      } catch (err) {
        this.#reservations.release(index);
        if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') {
          throw new Error(
            `cannot bind RTP ports ${rtpPort}/${rtpPort + 1} on ${this.address}: ${String(err)}`,
            {
              cause: err,
            },
          );
        }
        this.#eaddrinuseSkips++;
      }
    }
    const range = `${this.#firstEven}-${this.#firstEven + this.#pairCount * 2 - 1}`;
    throw new PortPoolExhaustedError(
      `no free RTP port pair in ${range} on ${this.address}: ${this.inUse}/${this.#pairCount} ` +
        `pairs in use by calls, ${attempts} bind attempts failed with EADDRINUSE`,
    );
  }

  async #bindPair(rtpPort: number, index: number): Promise<PortPair> {
    const rtpSocket = await this.#bind(rtpPort);
    let rtcpSocket: dgram.Socket;
    try {
      rtcpSocket = await this.#bind(rtpPort + 1);
    } catch (err) {
      await closeSocket(rtpSocket);
      throw err;
    }
    let closed: Promise<void> | undefined;
    return {
      address: this.address,
      rtpPort,
      rtcpPort: rtpPort + 1,
      rtpSocket,
      rtcpSocket,
      close: () => {
        closed ??= Promise.all([closeSocket(rtpSocket), closeSocket(rtcpSocket)]).then(() => {
          this.#reservations.release(index);
        });
        return closed;
      },
    };
  }

  #bind(port: number): Promise<dgram.Socket> {
    return new Promise((resolve, reject) => {
      // exclusive + no reuseAddr: a port another process (or another of our pools) holds must
      // fail with EADDRINUSE rather than be shared and split the call's packets.
      const socket = dgram.createSocket({ type: isIPv6(this.address) ? 'udp6' : 'udp4' });
      const onError = (err: Error): void => {
        void closeSocket(socket).then(() => reject(err));
      };
      socket.once('error', onError);
      socket.bind({ port, address: this.address, exclusive: true }, () => {
        socket.off('error', onError);
        resolve(socket);
      });
    });
  }
}

function closeSocket(socket: dgram.Socket): Promise<void> {
  return new Promise((resolve) => {
    try {
      socket.close(() => resolve());
    } catch {
      resolve(); // already closed
    }
  });
}
