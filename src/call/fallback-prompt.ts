// What the caller hears when the agent is gone (realtime socket lost and the one reconnect
// failed): three short 425 Hz beeps (ITU-T E.180 busy/congestion frequency) before our BYE, so
// that the line does not just go dead. Built once per codec, in G.711, ready for RTP.
import type { CallCodec } from '../audio/audio-format.js';
import { encodeAlaw, encodeUlaw } from '../media/g711.js';

const sampleRate = 8000;
const frameSamples = 160;
const beepMs = 200;
const gapMs = 200;
const beeps = 3;
/** −16 dBFS: clearly audible, well below clipping after a PBX's gain. */
const amplitude = 0.16 * 32767;

const cache = new Map<CallCodec, readonly Buffer[]>();

export function fallbackPromptFrames(codec: CallCodec): readonly Buffer[] {
  const cached = cache.get(codec);
  if (cached !== undefined) return cached;
  const totalMs = beeps * (beepMs + gapMs);
  const pcm = Buffer.alloc((totalMs * sampleRate * 2) / 1000);
  // Computed once per process per codec, not per call.
  for (let i = 0; i < pcm.length / 2; i++) {
    const inBeep = ((i / sampleRate) * 1000) % (beepMs + gapMs) < beepMs;
    const sample = inBeep ? Math.round(amplitude * Math.sin((2 * Math.PI * 425 * i) / sampleRate)) : 0;
    pcm.writeInt16LE(sample, i * 2);
  }
  const encoded = codec === 'PCMU' ? encodeUlaw(pcm) : encodeAlaw(pcm);
  const frames: Buffer[] = [];
  for (let at = 0; at < encoded.length; at += frameSamples)
    frames.push(encoded.subarray(at, at + frameSamples));
  cache.set(codec, frames);
  return frames;
}
