// Raw shape of the G.711 / Resampler / OutboundAudio bindings (native/addon_codec.cc).
// Only the typed wrappers in src/media/ use it. PCM is 16-bit little-endian in Buffers.

export interface RawResampler {
  /** Even-length PCM16 in, resampled PCM16 out (may be empty); filter state kept across calls. */
  process(pcm: Uint8Array): Buffer;
  /** The same filter on float samples (same scale as int16); a stream is int16 or float until reset(). */
  processFloat(samples: Float32Array): Float32Array;
  reset(): void;
  readonly delaySamples: number;
  readonly inRate: number;
  readonly outRate: number;
}

export interface RawOutboundStats {
  /** Agent audio (after conversion) that entered the queue. */
  pushedMs: number;
  /** Silence flush() added to complete the last frame of a response. */
  paddedMs: number;
  /** Audio handed to the RTP sender (20 ms per pull). */
  playedMs: number;
  /** Audio discarded by clear() (barge-in). */
  droppedMs: number;
  /** Oldest audio discarded to stay within maxQueueMs. */
  overflowDroppedMs: number;
  /** Times the queue ran dry in the middle of a response. */
  underruns: number;
}

export interface RawOutboundAudio {
  push(audio: Uint8Array): void;
  /** One 160-byte G.711 payload (20 ms) or undefined when less than that is queued. */
  pull(): Buffer | undefined;
  flush(): void;
  /** Empties the queue; returns the ms dropped. */
  clear(): number;
  stats(): RawOutboundStats;
  readonly queuedMs: number;
}

export interface CodecBinding {
  ulawEncode(pcm: Uint8Array): Buffer;
  alawEncode(pcm: Uint8Array): Buffer;
  ulawDecode(codes: Uint8Array): Buffer;
  alawDecode(codes: Uint8Array): Buffer;
  alawToUlaw(codes: Uint8Array): Buffer;
  ulawToAlaw(codes: Uint8Array): Buffer;
  resamplerSupported(inRate: number, outRate: number): boolean;
  Resampler: new (inRate: number, outRate: number) => RawResampler;
  /** apiFormat 'pcmu' | 'pcma' | 'pcm@16000' | 'pcm@24000'; callCodec 'PCMU' | 'PCMA'. */
  OutboundAudio: new (apiFormat: string, callCodec: string, maxQueueMs: number) => RawOutboundAudio;
}
