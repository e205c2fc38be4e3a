// Records every event of a RealtimeSession in order, and waits for the next one matching.
import type { RealtimeSession, RealtimeSessionEvents } from '../../src/realtime/realtime-session.js';
import { encodeLinear } from '../../src/realtime/local-agent/echo-transcoder.js';
import { sampleRateOf, type AudioFormat } from '../../src/audio/audio-format.js';

type Name = keyof RealtimeSessionEvents;
export type Recorded = { [K in Name]: { name: K; payload: RealtimeSessionEvents[K][0] } }[Name];

const names: Name[] = [
  'audio',
  'speech_started',
  'speech_stopped',
  'response_started',
  'response_done',
  'transcript',
  'function_call',
  'error',
  'reconnected',
  'closed',
];

export class SessionRecorder {
  readonly events: Recorded[] = [];
  #cursor = 0;
  #waiters: { match: (e: Recorded) => boolean; resolve: (e: Recorded) => void }[] = [];

  constructor(session: RealtimeSession) {
    for (const name of names) {
      session.on(name, (payload?: unknown) => {
        const event = { name, payload } as Recorded;
        this.events.push(event);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.match(event)) return true;
          w.resolve(event);
          return false;
        });
      });
    }
  }

  of<K extends Name>(name: K): RealtimeSessionEvents[K][0][] {
    return this.events.filter((e) => e.name === name).map((e) => e.payload as RealtimeSessionEvents[K][0]);
  }

  /**
   * The next event named `name` after the last one `next` returned (events recorded before the
   * call count: a burst of events often lands in one socket read).
   */
  next<K extends Name>(
    name: K,
    where: (payload: RealtimeSessionEvents[K][0]) => boolean = () => true,
  ): Promise<RealtimeSessionEvents[K][0]> {
    const match = (e: Recorded): boolean =>
      e.name === name && where(e.payload as RealtimeSessionEvents[K][0]);
    const index = this.events.findIndex((e, i) => i >= this.#cursor && match(e));
    if (index >= 0) {
      this.#cursor = index + 1;
      return Promise.resolve(this.events[index]!.payload as RealtimeSessionEvents[K][0]);
    }
    return new Promise((resolve) => {
      this.#waiters.push({
        match,
        resolve: (e) => {
          this.#cursor = this.events.indexOf(e) + 1;
          resolve(e.payload as RealtimeSessionEvents[K][0]);
        },
      });
    });
  }

  /** All audio bytes of one response, in arrival order. */
  audioOf(responseId: string): Buffer {
    return Buffer.concat(
      this.of('audio')
        .filter((a) => a.responseId === responseId)
        .map((a) => a.chunk),
    );
  }
}

/** Silence, then a 300 Hz tone at -12 dBFS, then silence: a synthetic utterance. */
export function speechBurst(format: AudioFormat, leadMs: number, toneMs: number, tailMs: number): Buffer {
  const rate = sampleRateOf(format);
  const lead = Math.round((leadMs * rate) / 1000);
  const tone = Math.round((toneMs * rate) / 1000);
  const samples = new Int16Array(lead + tone + Math.round((tailMs * rate) / 1000));
  for (let i = 0; i < tone; i++)
    samples[lead + i] = Math.round(8000 * Math.sin((2 * Math.PI * 300 * i) / rate));
  return encodeLinear(samples, format);
}

/** Appends `audio` in 20 ms chunks, as the call's media clock would (without the waiting). */
export function appendIn20msChunks(session: RealtimeSession, audio: Buffer, bytesPer20ms: number): void {
  for (let offset = 0; offset < audio.length; offset += bytesPer20ms) {
    session.appendAudio(audio.subarray(offset, Math.min(audio.length, offset + bytesPer20ms)));
  }
}

/** Fails the test if anything rejects unhandled while it runs. */
export function watchUnhandledRejections(): () => unknown[] {
  const seen: unknown[] = [];
  const onRejection = (reason: unknown): void => {
    seen.push(reason);
  };
  process.on('unhandledRejection', onRejection);
  return () => {
    process.off('unhandledRejection', onRejection);
    return seen;
  };
}
