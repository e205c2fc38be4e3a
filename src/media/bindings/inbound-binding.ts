// Raw shape of the InboundAudio binding (native/addon_inbound.cc).
// Only the typed wrapper src/media/inbound-audio.ts uses it.

export type RawPushStatus = 'accepted' | 'duplicate' | 'late' | 'resync' | 'invalid';

export interface RawInboundStats {
  /** Packets stored in time. */
  received: number;
  /** Packets that arrived after their playout time. */
  late: number;
  /** Sequence numbers never received (RFC 3550 A.3, summed over SSRC epochs). */
  lost: number;
  duplicates: number;
  /** 20 ms frames that contained concealment of missing audio. */
  concealed: number;
  resyncs: number;
  /**
   * 10 ms concealed subframes inserted to grow the delay (in a pause, or over a subframe missing
   * at its playout time) or to wait for a reordered packet.
   */
  inserted: number;
  /** 10 ms of real audio dropped to shrink the delay: quiet audio after 0.5 s of excess, or forced. */
  dropped: number;
  /** 10 ms gaps (lost audio) closed instead of concealed, shrinking the delay for free. */
  skipped: number;
  /**
   * Of `dropped`, audio that was not quiet: after 5 s of excess with no pause and no loss to
   * shrink in, or jumped over when the pulls fell far behind (a stalled clock).
   */
  forcedDrops: number;
  currentDelayMs: number;
  targetDelayMs: number;
  /** RFC 3550 6.4.1 interarrival jitter. */
  jitterMs: number;
  /** Mean time from packet arrival to its playout. */
  meanAddedDelayMs: number;
}

export interface RawInboundAudio {
  push(seq: number, ts: number, ssrc: number, payload: Uint8Array, arrivalMs: number): RawPushStatus;
  pull(nowMs: number): Buffer | undefined;
  stats(): RawInboundStats;
  frameBytes(): number;
}

export interface InboundBinding {
  /** callCodec 'PCMU' | 'PCMA'; apiFormat 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000'. */
  InboundAudio: new (
    callCodec: string,
    apiFormat: string,
    minDelayMs: number,
    maxDelayMs: number,
    lateCostMs?: number,
  ) => RawInboundAudio;
}
