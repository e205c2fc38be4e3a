// Runs a call thread's hot paths once before its first call: the RTP header reader and writer,
// the native jitter buffer and playout queue on every codec/format pair, and the realtime
// event schemas (zod compiles each parser on its first use). Without it the first call of a
// fresh thread pays for that compilation while its audio flows: the thread stalls for tens of
// ms, the caller's packets look late, the jitter buffer grows and the first phrase of the first
// call comes out 10 ms apart from itself (issue 16). A few ms at start, nothing per call.
import type { AudioFormat, CallCodec } from '../audio/audio-format.js';
import { InboundAudio } from '../media/inbound-audio.js';
import { OutboundAudio } from '../media/outbound-audio.js';
import { emptyInboundRtpPacket, readRtpDatagram, writeRtpPacket } from '../media/rtp-datagram.js';
import { parseServerMessage, serverEventSchema } from '../realtime/server-events.js';

const codecs: readonly CallCodec[] = ['PCMU', 'PCMA'];
const apiFormats: readonly AudioFormat[] = [
  { encoding: 'pcmu' },
  { encoding: 'pcma' },
  { encoding: 'pcm', sampleRate: 16000 },
  { encoding: 'pcm', sampleRate: 24000 },
];

/** Fields every server event type might carry, so each schema's parser runs to its end. */
const eventFields = {
  item: { id: 'warm', type: 'message', role: 'assistant', status: 'completed', content: [] },
  item_id: 'warm',
  response_id: 'warm',
  response: { id: 'warm', status: 'completed', output: [], usage: {} },
  delta: 'AAAA',
  transcript: 'warm',
  audio_start_ms: 0,
  audio_end_ms: 0,
  session: {},
  error: { type: 'invalid_request_error', message: 'warm' },
  name: 'warm',
  call_id: 'warm',
  arguments: '{}',
};

export function warmUpCallPaths(frames = 200): void {
  const payloadTypes = new Set([0, 8, 101]);
  const packet = emptyInboundRtpPacket();
  const datagram = Buffer.alloc(12 + 160);
  const payload = Buffer.alloc(160, 0xd5);
  for (const codec of codecs) {
    for (const apiFormat of apiFormats) {
      const inbound = new InboundAudio(codec, apiFormat, { minDelayMs: 20, maxDelayMs: 200 });
      const outbound = new OutboundAudio(apiFormat, codec, { maxQueueMs: 2000 });
      const agentChunk = Buffer.alloc(apiFormat.encoding === 'pcm' ? (apiFormat.sampleRate / 50) * 2 : 160);
      for (let i = 0; i < frames; i++) {
        const nowMs = 1000 + i * 20;
        writeRtpPacket(
          { payloadType: codec === 'PCMU' ? 0 : 8, seq: i, ts: i * 160, ssrc: 1, marker: i === 0, payload },
          datagram,
        );
        if (readRtpDatagram(datagram, nowMs, payloadTypes, 1500, packet) === undefined) {
          inbound.push(packet.seq, packet.ts, packet.ssrc, packet.payload, nowMs);
        }
        const frame = inbound.pull(nowMs + 30);
        if (frame !== undefined)
          JSON.stringify({ type: 'input_audio_buffer.append', audio: frame.toString('base64') });
        outbound.push(agentChunk);
        outbound.pull();
      }
      outbound.flush();
      outbound.clear();
    }
  }
  for (const option of serverEventSchema.options) {
    const type = (option.shape.type as { value: string }).value;
    for (let i = 0; i < 3; i++) parseServerMessage(JSON.stringify({ type, ...eventFields }));
  }
}
