// What the caller hears when the agent is gone (realtime socket lost and the one reconnect
// failed): three short 425 Hz beeps (ITU-T E.180 busy/congestion frequency) before our BYE, so
// that the line does not just go dead. Built once per leg format (G.711 for RTP and Twilio, PCM16
// for Vonage), ready to send.
import { formatName, type AudioFormat } from '../audio/audio-format.js';
import { encodeAlaw, encodeUlaw } from '../media/g711.js';
import { Resampler, type ResamplerRate } from '../media/resampler.js';

const sampleRate = 8000;
const frameSamples = 160;
const beepMs = 200;
const gapMs = 200;
const beeps = 3;
/** −16 dBFS: clearly audible, well below clipping after a PBX's gain. */
const amplitude = 0.16 * 32767;

const cache = new Map<string, readonly Buffer[]>();

export function fallbackPromptFrames(format: AudioFormat): readonly Buffer[] {
  const key = formatName(format);
  const cached = cache.get(key);
  if (cached !== undefined) return cached;
  const totalMs = beeps * (beepMs + gapMs);
  const pcm = Buffer.alloc((totalMs * sampleRate * 2) / 1000);
  // Computed once per process per codec, not per call.
  for (let i = 0; i < pcm.length / 2; i++) {
    const inBeep = ((i / sampleRate) * 1000) % (beepMs + gapMs) < beepMs;
    const sample = inBeep ? Math.round(amplitude * Math.sin((2 * Math.PI * 425 * i) / sampleRate)) : 0;
    pcm.writeInt16LE(sample, i * 2);
  }
  let encoded: Buffer;
  let frameBytes = frameSamples;
  if (format.encoding === 'pcm') {
    encoded =
      format.sampleRate === sampleRate
        ? pcm
        : new Resampler(sampleRate, format.sampleRate as ResamplerRate).process(pcm);
    frameBytes = (format.sampleRate / 50) * 2;
  } else {
    encoded = format.encoding === 'pcmu' ? encodeUlaw(pcm) : encodeAlaw(pcm);
  }
  const frames: Buffer[] = [];
  for (let at = 0; at + frameBytes <= encoded.length; at += frameBytes)
    frames.push(encoded.subarray(at, at + frameBytes));
  cache.set(key, frames);
  return frames;
}
