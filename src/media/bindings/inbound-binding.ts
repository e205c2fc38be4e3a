// Raw shape of the InboundAudio binding (native/addon_inbound.cc).
// Only the typed wrapper src/media/inbound-audio.ts uses it.

export type RawPushStatus = 'accepted' | 'duplicate' | 'late' | 'resync' | 'invalid';

export interface RawInboundStats {
  received: number;
  late: number;
  lost: number;
  duplicates: number;
  concealed: number;
  resyncs: number;
  inserted: number;
  dropped: number;
  skipped: number;
  currentDelayMs: number;
  targetDelayMs: number;
  jitterMs: number;
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
  ) => RawInboundAudio;
}
