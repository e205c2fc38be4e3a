// Which source one call's inbound RTP/RTCP may come from, and where ours goes. Symmetric RTP
// (RFC 4961) with "comedia" latching: we send to where the caller's RTP actually comes from,
// because a phone behind NAT writes its private address in the SDP and the NAT's public
// address:port only shows up as the source of its packets. Latching is also the attack surface:
// "RTP bleed" (CVE-2017-14099; Asterisk advisories AST-2017-005 and AST-2017-008, which completed
// it; retrospective at https://www.asterisk.org/rtp-security-vulnerabilities/) was a learning
// rule that let anyone who sprayed enough RTP at a call's port, mid-call, become its media peer:
// receive the call's audio and inject their own. The rules here, and why:
//
// 1. Until the session latches we send to the SDP address (c= and m=).
// 2. Learning. A packet from exactly the SDP address:port latches at once: that is the peer the
//    signalling named. A packet from any other source (another IP: NAT; the SDP IP but another
//    port: a STUN-configured phone behind a port-mapping NAT, an SBC) is only a candidate: it
//    latches after 4 packets in a row from that address:port with one SSRC and consecutive
//    sequence numbers (Asterisk's strict-RTP learning default, DEFAULT_LEARNING_MIN_SEQUENTIAL
//    in res_rtp_asterisk.c; more than RFC 3550 A.1's 2 because the source is unauthenticated).
//    A packet from elsewhere, of another SSRC or out of sequence restarts the probation with
//    itself; candidate packets are not delivered (≤ 60 ms at the start of a NATed call, normally
//    silence). Only negotiated payload types reach this point (rtp-datagram.ts), so an attacker
//    must also use the PT.
// 3. Latched: only that address:port, for the rest of the call. Every other source is foreign:
//    dropped, counted, never delivered, never latched to — however long the peer is silent.
//    We used to re-latch after 2 s of silence (for NAT rebinding); that is exactly the RTP bleed
//    window: a caller muted behind silence suppression handed the call to whoever sprayed the
//    port. Cost of refusing: a NAT rebinding with no re-INVITE loses our return audio until the
//    peer re-INVITEs or the RTP timeout ends the call — Asterisk's strictrtp makes the same trade.
//    One exception, safe because it only moves toward the signalled peer: a source learned by
//    probation yields once to a packet from exactly the SDP address:port (an attacker who won
//    the start-of-call race loses the call as soon as the real peer's first packet arrives).
// 4. A re-INVITE whose SDP address differs (media moved on purpose) starts learning again; one
//    that repeats it (session refresh, hold/resume) keeps the latch; no address (c=0.0.0.0 hold)
//    stops our sending and keeps the latch.
// 5. SSRC (RFC 3550 §8.2): the latched source may change SSRC — PBXs and SBCs do on transfer,
//    music on hold and re-bridging — so a new SSRC is accepted after 2 consecutive packets of it
//    (RFC 3550 A.1 MIN_SEQUENTIAL) with no packet of the current SSRC between; its first packet
//    is dropped. Not re-sync on the first packet: one stray packet would reset the jitter buffer
//    and the reception statistics. Not refused: legitimate changes are common.
// 6. RTCP only from the peer's host (latched RTP address, else the SDP address). The expected
//    RTCP port (a=rtcp, RFC 3605; else RTP port + 1, RFC 3550 §11) is always accepted; another
//    port of that host (a NATed RTCP mapping) only while no RTCP port is latched. Our RTCP goes
//    to where the last well-formed one came from (symmetric RTCP); a malformed one latches
//    nothing.
import { isIPv4, isIPv6 } from 'node:net';

export interface UdpAddress {
  address: string;
  port: number;
}

/** What the latch made of one valid RTP packet (rule numbers refer to the header). */
export type LatchDecision =
  | 'latched' // this packet latched the session (rule 2, or the exception in rule 3)
  | 'same' // from the latched source, its current SSRC
  | 'new-ssrc' // from the latched source, a new SSRC that passed probation (rule 5)
  | 'foreign-source' // not the latched source (rule 3)
  | 'latch-probation' // a candidate source still in probation (rule 2)
  | 'ssrc-probation'; // the latched source's new SSRC still in probation (rule 5)

/** Packets in a row a source other than the SDP address:port needs to latch (rule 2). */
export const latchProbationPackets = 4;
/** Packets in a row a new SSRC of the latched source needs (rule 5; RFC 3550 A.1). */
export const ssrcProbationPackets = 2;

interface Candidate {
  address: string;
  port: number;
  ssrc: number;
  nextSeq: number;
  count: number;
}

export class RtpLatch {
  #signalled: UdpAddress | undefined;
  #signalledRtcpPort: number | undefined;
  #sendingPaused = false;
  #latched: (UdpAddress & { ssrc: number; signalled: boolean }) | undefined;
  /** A source in probation before latching, or a new SSRC of the latched source. */
  #candidate: Candidate | undefined;
  #rtcp: UdpAddress | undefined;
  #latches = 0;

  constructor(signalled?: UdpAddress & { rtcpPort?: number }) {
    if (signalled !== undefined) this.setSignalled(signalled);
  }

  /** Where our RTP goes: the latched source, else the SDP address; nothing on c=0.0.0.0 hold. */
  get destination(): UdpAddress | undefined {
    if (this.#sendingPaused) return undefined;
    const to = this.#latched ?? this.#signalled;
    return to && { address: to.address, port: to.port };
  }

  get latched(): UdpAddress | undefined {
    const l = this.#latched;
    return l && { address: l.address, port: l.port };
  }

  /** The SSRC accepted from the latched source. */
  get ssrc(): number | undefined {
    return this.#latched?.ssrc;
  }

  /** Times the session latched (1 in a normal call; more when re-INVITEs moved the media). */
  get latches(): number {
    return this.#latches;
  }

  /** Where our RTCP goes: the latched RTCP source, else the expected RTCP port of the peer. */
  get rtcpDestination(): UdpAddress | undefined {
    if (this.#sendingPaused) return undefined;
    if (this.#rtcp !== undefined) return { ...this.#rtcp };
    const port = this.#expectedRtcpPort();
    const host = this.#latched ?? this.#signalled;
    return host && port !== undefined ? { address: host.address, port } : undefined;
  }

  /**
   * The SDP address from an offer or answer (rule 4): a new one starts learning again, the same
   * one keeps the latch, undefined (c=0.0.0.0) pauses our sending.
   */
  setSignalled(signalled: (UdpAddress & { rtcpPort?: number }) | undefined): void {
    if (signalled === undefined) {
      this.#sendingPaused = true;
      return;
    }
    this.#sendingPaused = false;
    const address = canonicalHost(signalled.address);
    const same = this.#signalled?.address === address && this.#signalled.port === signalled.port;
    this.#signalled = { address, port: signalled.port };
    if (same && this.#signalledRtcpPort === signalled.rtcpPort) return;
    this.#signalledRtcpPort = signalled.rtcpPort;
    this.#rtcp = undefined;
    if (same) return;
    this.#latched = undefined;
    this.#candidate = undefined;
  }

  /**
   * Whether a datagram from `from` is refused whatever it holds (rule 3): lets the session drop
   * foreign traffic before parsing it.
   */
  isForeign(from: UdpAddress): boolean {
    const l = this.#latched;
    if (l === undefined || (from.port === l.port && from.address === l.address)) return false;
    return l.signalled || !this.#isSignalled(from);
  }

  /** Decides about one well-formed RTP packet of a negotiated payload type from `from`. */
  accept(from: UdpAddress, ssrc: number, seq: number): LatchDecision {
    const l = this.#latched;
    if (l !== undefined && from.port === l.port && from.address === l.address) {
      return this.#acceptSsrc(ssrc, seq);
    }
    const signalled = this.#isSignalled(from);
    if (l !== undefined && (l.signalled || !signalled)) return 'foreign-source';
    if (signalled) return this.#latch(from, ssrc, true);
    // Rule 2: probation for any source but the SDP address:port.
    const c = this.#candidate;
    if (
      c !== undefined &&
      c.port === from.port &&
      c.address === from.address &&
      c.ssrc === ssrc &&
      c.nextSeq === seq
    ) {
      c.count++;
      c.nextSeq = (seq + 1) & 0xffff;
      return c.count >= latchProbationPackets ? this.#latch(from, ssrc, false) : 'latch-probation';
    }
    this.#candidate = { address: from.address, port: from.port, ssrc, nextSeq: (seq + 1) & 0xffff, count: 1 };
    return 'latch-probation';
  }

  /** Whether an RTCP datagram from `from` may be read at all (rule 6); changes nothing. */
  isRtcpSource(from: UdpAddress): boolean {
    const host = this.#latched?.address ?? this.#signalled?.address;
    if (host === undefined || !sameHost(from.address, host)) return false;
    const r = this.#rtcp;
    return (
      r === undefined ||
      (r.port === from.port && r.address === from.address) ||
      from.port === this.#expectedRtcpPort()
    );
  }

  /** A well-formed RTCP datagram from an accepted source: our RTCP goes back there (rule 6). */
  latchRtcp(from: UdpAddress): void {
    const r = this.#rtcp;
    if (r === undefined || r.port !== from.port || r.address !== from.address) {
      this.#rtcp = { address: from.address, port: from.port };
    }
  }

  #acceptSsrc(ssrc: number, seq: number): LatchDecision {
    const l = this.#latched!;
    if (ssrc === l.ssrc) {
      this.#candidate = undefined;
      return 'same';
    }
    const c = this.#candidate;
    if (c !== undefined && c.ssrc === ssrc && c.nextSeq === seq) {
      c.count++;
      c.nextSeq = (seq + 1) & 0xffff;
      if (c.count < ssrcProbationPackets) return 'ssrc-probation';
      l.ssrc = ssrc;
      this.#candidate = undefined;
      return 'new-ssrc';
    }
    this.#candidate = { address: l.address, port: l.port, ssrc, nextSeq: (seq + 1) & 0xffff, count: 1 };
    return 'ssrc-probation';
  }

  #latch(from: UdpAddress, ssrc: number, signalled: boolean): LatchDecision {
    this.#latched = { address: from.address, port: from.port, ssrc, signalled };
    this.#candidate = undefined;
    if (this.#rtcp !== undefined && !sameHost(this.#rtcp.address, from.address)) this.#rtcp = undefined;
    this.#latches++;
    return 'latched';
  }

  #isSignalled(from: UdpAddress): boolean {
    const s = this.#signalled;
    return s !== undefined && from.port === s.port && sameHost(from.address, s.address);
  }

  #expectedRtcpPort(): number | undefined {
    if (this.#latched !== undefined && !this.#latched.signalled) return this.#latched.port + 1;
    if (this.#signalledRtcpPort !== undefined) return this.#signalledRtcpPort;
    const rtp = this.#latched ?? this.#signalled;
    return rtp && rtp.port + 1;
  }
}

/**
 * One spelling per host, for comparing an SDP address with a datagram's source: lower case,
 * IPv4-mapped IPv6 as plain IPv4 (a dual-stack socket reports `::ffff:a.b.c.d`), IPv6 compressed
 * the way the kernel prints it.
 */
export function canonicalHost(address: string): string {
  const a = address.toLowerCase();
  if (a.startsWith('::ffff:') && isIPv4(a.slice(7))) return a.slice(7);
  if (!isIPv6(a)) return a;
  try {
    return new URL(`http://[${a}]/`).hostname.slice(1, -1);
  } catch {
    return a; // e.g. a zone id (fe80::1%eth0), which URL refuses
  }
}

/** `fromAddress` as dgram reports it, `host` as canonicalHost made it. */
function sameHost(fromAddress: string, host: string): boolean {
  return fromAddress === host || (fromAddress.startsWith('::ffff:') && fromAddress.slice(7) === host);
}
