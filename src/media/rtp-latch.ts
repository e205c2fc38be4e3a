// Symmetric RTP (RFC 4961) with "comedia"-style latching: we send to where the caller's RTP
// actually comes from, not to where its SDP said. A phone behind NAT writes its private address
// in the SDP; the NAT's public address:port only shows up as the source of its packets.

export interface UdpAddress {
  address: string;
  port: number;
}

export type LatchDecision = 'latched' | 'relatched' | 'same' | 'wrong-source';

export interface RtpLatchOptions {
  /**
   * How long the latched source must be silent before another source may take over. Why
   * re-latch at all: a NAT rebinding (mobile network change, NAT timeout during hold) or an SBC
   * re-anchoring media moves the caller's source port with no re-INVITE, and without re-latching
   * we would keep sending into a dead mapping for the rest of the call. Why wait 2 s: while the
   * real source is talking (50 packets/s) a stray or spoofed stream cannot steal the call; after
   * 2 s of silence the old mapping is most likely gone, and 2 s is short next to rtpTimeoutSec.
   */
  relatchAfterSilenceMs?: number;
}

export class RtpLatch {
  readonly #relatchAfterSilenceMs: number;
  #signalled: UdpAddress | undefined;
  #latched: UdpAddress | undefined;
  #lastFromLatchedMs = 0;
  #relatches = 0;

  constructor(signalled: UdpAddress | undefined, options: RtpLatchOptions = {}) {
    this.#signalled = signalled;
    this.#relatchAfterSilenceMs = options.relatchAfterSilenceMs ?? 2000;
  }

  /** Where our RTP goes: the latched source, else the SDP address (until the first packet). */
  get destination(): UdpAddress | undefined {
    return this.#latched ?? this.#signalled;
  }

  get latched(): UdpAddress | undefined {
    return this.#latched;
  }

  get relatches(): number {
    return this.#relatches;
  }

  /**
   * A new SDP address (re-INVITE): send there and latch afresh on the next valid packet, since
   * the media may have moved on purpose.
   */
  setSignalled(signalled: UdpAddress | undefined): void {
    this.#signalled = signalled;
    this.#latched = undefined;
  }

  /** Decides about one valid RTP packet (negotiated payload type) from `from`. */
  accept(from: UdpAddress, nowMs: number): LatchDecision {
    const current = this.#latched;
    if (current === undefined) {
      this.#latched = { address: from.address, port: from.port };
      this.#lastFromLatchedMs = nowMs;
      return 'latched';
    }
    if (current.address === from.address && current.port === from.port) {
      this.#lastFromLatchedMs = nowMs;
      return 'same';
    }
    if (nowMs - this.#lastFromLatchedMs > this.#relatchAfterSilenceMs) {
      this.#latched = { address: from.address, port: from.port };
      this.#lastFromLatchedMs = nowMs;
      this.#relatches++;
      return 'relatched';
    }
    return 'wrong-source';
  }
}
