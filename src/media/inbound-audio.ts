// Caller -> agent audio of one call: RTP payloads in (any arrival order, any ptime 10-60 ms),
// one 20 ms frame out per media-clock tick in the realtime API's input format. Jitter buffer,
// concealment of lost packets and any transcoding all run in the native core
// (native/inbound_audio.cc); this wrapper only types the boundary.
import { native } from './native-addon.js';
import type { RawInboundAudio, RawInboundStats, RawPushStatus } from './bindings/inbound-binding.js';
import { nativeFormatName, assertNativeAudioFormat } from './native-audio-format.js';
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';
import { logger, LogOnce } from '../observability/logger.js';

/**
 * What became of a pushed packet. `resync`: the packet starts a new stream (SSRC change, sequence
 * or timestamp jump) and was accepted; `late`: it arrived after its playout time; `invalid`: it
 * could not be placed (e.g. payload longer than 120 ms, or an old packet with an absurd timestamp).
 */
export type InboundPushStatus = RawPushStatus;

export interface JitterDelayOptions {
  /** Lower bound of the adaptive target delay, 0-1000 ms. */
  minDelayMs: number;
  /** Upper bound of the adaptive target delay, minDelayMs-1000 ms. */
  maxDelayMs: number;
  /**
   * Delay/late-loss trade-off: ms of added delay that 1 % of late audio is worth when the target
   * is chosen, (0, 1000]; default 6.5. Lower: less delay, more late audio (`npm run bench jitter`).
   */
  lateCostMs?: number;
}

/** The stats as the native core reports them (documented in the binding). */
export type InboundAudioStats = RawInboundStats;

const defaultDelay: JitterDelayOptions = { minDelayMs: 20, maxDelayMs: 300 };

export class InboundAudio {
  readonly #raw: RawInboundAudio;
  readonly #log = new LogOnce(16);
  /** Bytes of each pulled frame: 160 (G.711), 640 (PCM 16 kHz), 960 (PCM 24 kHz). */
  readonly frameBytes: number;

  /**
   * @param callCodec the call leg's codec (what the RTP payloads are).
   * @param apiFormat the realtime API's input format (what pull() returns).
   * @throws TypeError / RangeError on a bad codec, format or delay bound.
   */
  constructor(callCodec: CallCodec, apiFormat: AudioFormat, delay: JitterDelayOptions = defaultDelay) {
    assertNativeAudioFormat(apiFormat);
    if (typeof delay !== 'object' || delay === null) {
      throw new TypeError('InboundAudio: delay must be { minDelayMs, maxDelayMs }');
    }
    // The binding checks the codec and the delay bounds (TypeError / RangeError).
    const format = nativeFormatName(apiFormat);
    this.#raw = new native.InboundAudio(
      callCodec,
      format,
      delay.minDelayMs,
      delay.maxDelayMs,
      delay.lateCostMs,
    );
    this.frameBytes = this.#raw.frameBytes();
  }

  /**
   * One RTP packet of the call's audio. A zero-length payload marks `seq` as used by a non-audio
   * packet (RFC 4733 telephone-event shares the sequence space) so it is not counted lost.
   * @param arrivalMs receive time on the same clock as pull()'s nowMs.
   * @throws TypeError / RangeError when an argument is not an RTP field value.
   */
  push(seq: number, ts: number, ssrc: number, payload: Uint8Array, arrivalMs: number): InboundPushStatus {
    const status = this.#raw.push(seq, ts, ssrc, payload, arrivalMs);
    if (status === 'invalid' && this.#log.first('invalid')) {
      logger.warn({ seq, ts, ssrc, bytes: payload.length }, 'inbound RTP packet could not be placed');
    }
    return status;
  }

  /**
   * The next 20 ms frame, or undefined until the first packet has been held for the target
   * delay. After that, one frame per call: concealment over losses, silence after 60 ms of them.
   */
  pull(nowMs: number): Buffer | undefined {
    return this.#raw.pull(nowMs);
  }

  stats(): InboundAudioStats {
    return this.#raw.stats();
  }
}
