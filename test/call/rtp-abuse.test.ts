// RTP abuse against a real call: grok-sip answers a hand-written SIP peer (raw UDP) and bridges
// it to the local agent in echo mode (PCMU pass-through), and while the call runs
//   (a) "RTP bleed" (CVE-2017-14099): a second socket on 127.0.0.1 sprays well-formed RTP — the
//       negotiated PT, the caller's own SSRC, sequence numbers just ahead of the caller's — at the
//       call's RTP port from another port, including through 2.5 s in which the caller sends
//       nothing (our old re-latch-after-2-s-of-silence rule handed the call over right there).
//       Our RTP must keep going to the caller's port only, never to the attacker's, and the
//       attacker's 1800 Hz tone must never reach the agent nor come back in the echo;
//   (b) garbage from the caller's own address:port, one malformed datagram after every real
//       packet (each class of rtp-datagram.ts, RTCP on the RTP port, stray SSRCs): the echo
//       stays clean, the jitter buffer counts 0 lost, and rejected input of kind rtp rises by
//       exactly the number of datagrams refused.
// Loopback only; SIP 19450, RTP 29000-29019, peers on ephemeral ports; about 15 s.
import { createSocket, type Socket } from 'node:dgram';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import t, { type Test } from 'tap';
import { startGrokSip, type GrokSipApp } from '../../src/app/grok-sip-app.js';
import type { CallDetailRecord } from '../../src/observability/call-detail-record.js';
import { parseConfig } from '../../src/config/load-config.js';
import { decodeUlaw, encodeUlaw } from '../../src/media/g711.js';
import { serializeRtp } from '../../src/media/rtp-datagram.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { audioSdp, header, request, statusOf, UdpPeer, until } from '../sip/support/raw-sip.js';

const sipPort = 19450;
const rtpMin = 29000;
const rtpMax = 29019;
const callerHz = 600;
const attackerHz = 1800;
const ulawSilence = 0xff;

// workers: 0 — the calls run on the main thread, so rejectedInputs counts every refused datagram
// at once and the BYE cannot overtake the last RTP packet (a call thread reports its counts each
// second and gets the BYE as a message: call-threads.test.ts checks counting from a thread).
const config = parseConfig(
  `
sip:
  listen: [{ transport: udp, address: 127.0.0.1, port: ${sipPort} }]
media: { rtpAddress: 127.0.0.1, portMin: ${rtpMin}, portMax: ${rtpMax}, rtpTimeoutSec: 20, workers: 0 }
agents:
  default: echo
  profiles: [{ name: echo, instructions: Repeat what the caller says., audioFormat: auto }]
`,
  {},
);

/** `frames` × 20 ms of a sine at `hz` as μ-law, phase-continuous across frames. */
function toneFrames(hz: number, frames: number, amplitude = 8000): Buffer[] {
  const pcm = Buffer.alloc(frames * 160 * 2);
  for (let i = 0; i < frames * 160; i++) {
    pcm.writeInt16LE(Math.round(amplitude * Math.sin((2 * Math.PI * hz * i) / 8000)), i * 2);
  }
  const ulaw = encodeUlaw(pcm);
  return Array.from({ length: frames }, (_, f) => ulaw.subarray(f * 160, (f + 1) * 160));
}

/** Goertzel power of `hz` over μ-law audio, summed per 20 ms frame. */
function tonePower(ulaw: Buffer, hz: number): number {
  const pcm = decodeUlaw(ulaw);
  const coeff = 2 * Math.cos((2 * Math.PI * hz) / 8000);
  let total = 0;
  for (let start = 0; start + 320 <= pcm.length; start += 320) {
    let s1 = 0;
    let s2 = 0;
    for (let i = 0; i < 160; i++) {
      const s0 = pcm.readInt16LE(start + i * 2) + coeff * s1 - s2;
      s2 = s1;
      s1 = s0;
    }
    total += s1 * s1 + s2 * s2 - coeff * s1 * s2;
  }
  return total;
}

/** Sends at 20 ms intervals against the clock (not setInterval drift) until `frames` are out. */
async function paced(frames: number, send: (i: number) => void): Promise<void> {
  const start = performance.now();
  for (let i = 0; i < frames; i++) {
    const wait = start + i * 20 - performance.now();
    if (wait > 0) await sleep(wait);
    send(i);
  }
}

async function udpSocket(t: Test): Promise<{ socket: Socket; port: number; received: Buffer[] }> {
  const socket = createSocket('udp4');
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  t.teardown(() => socket.close());
  const received: Buffer[] = [];
  socket.on('message', (b) => received.push(b));
  return { socket, port: socket.address().port, received };
}

/** The caller's RTP stream: one SSRC, sequence and timestamp carried across pauses. */
class CallerStream {
  readonly ssrc = 0x0c0ffee0;
  seq = 4000;
  ts = 80_000;
  #marker = true;
  constructor(
    private readonly socket: Socket,
    private readonly to: number,
  ) {}

  send(payload: Buffer): void {
    const packet = serializeRtp({
      payloadType: 0,
      seq: this.seq,
      ts: this.ts,
      ssrc: this.ssrc,
      marker: this.#marker,
      payload,
    });
    this.socket.send(packet, this.to, '127.0.0.1');
    this.#marker = false;
    this.seq = (this.seq + 1) & 0xffff;
    this.ts = (this.ts + 160) >>> 0;
  }

  /** Silence suppression: nothing on the wire, the timestamp still advances (RFC 3550 §5.1). */
  pause(ms: number): Promise<void> {
    this.ts = (this.ts + ms * 8) >>> 0;
    this.#marker = true;
    return sleep(ms);
  }
}

interface PlacedCall {
  callId: string;
  ourRtpPort: number;
  caller: Awaited<ReturnType<typeof udpSocket>>;
  agentConnection: number;
  hangUp(): Promise<CallDetailRecord | undefined>;
}

async function placeCall(
  t: Test,
  app: GrokSipApp,
  records: CallDetailRecord[],
  callId: string,
): Promise<PlacedCall> {
  const peer = await UdpPeer.open(t);
  const caller = await udpSocket(t);
  const agent = app.localAgent!;
  const agentConnection = agent.connectionsAccepted();
  const base = { uri: `sip:echo@127.0.0.1:${sipPort}`, callId };
  peer.send(
    request(
      { ...base, method: 'INVITE', branch: `z9hG4bK${callId}1`, cseq: 1, body: audioSdp(caller.port) },
      peer.port,
    ),
    sipPort,
  );
  const [ok] = await peer.waitFor((m) => statusOf(m) === 200 && /CSeq: 1 INVITE/.test(m));
  if (ok === undefined) throw new Error('no 200 to the INVITE');
  const ourRtpPort = Number(/m=audio (\d+) /.exec(ok)?.[1]);
  const toTag = /;tag=([^;\s]+)/.exec(header(ok, 'To') ?? '')?.[1] ?? '';
  peer.send(
    request({ ...base, method: 'ACK', branch: `z9hG4bK${callId}a`, cseq: 1, toTag }, peer.port),
    sipPort,
  );
  await until(() => agent.openConnections() > 0 && agent.connectionsAccepted() > agentConnection);
  return {
    callId,
    ourRtpPort,
    caller,
    agentConnection,
    async hangUp() {
      peer.send(
        request({ ...base, method: 'BYE', branch: `z9hG4bK${callId}b`, cseq: 2, toTag }, peer.port),
        sipPort,
      );
      await until(() => records.some((r) => r.callId === callId));
      return records.find((r) => r.callId === callId);
    },
  };
}

/** μ-law payloads of our RTP as the caller received it (our packets carry no CSRC/extension). */
function payloadsOf(datagrams: Buffer[]): Buffer {
  return Buffer.concat(
    datagrams.filter((d) => d.length > 12 && (d[1]! & 0x7f) === 0).map((d) => d.subarray(12)),
  );
}

/** μ-law the agent was sent on connection `connection` (PCMU pass-through: API format = call codec). */
function agentHeard(app: GrokSipApp, connection: number): Buffer {
  return Buffer.concat(
    app
      .localAgent!.received.filter((r) => r.connection === connection)
      .flatMap((r) =>
        r.event.type === 'input_audio_buffer.append' ? [Buffer.from(r.event.audio, 'base64')] : [],
      ),
  );
}

t.test('RTP abuse during a call', async (t) => {
  const app = await startGrokSip(config, { localAgent: { mode: 'echo' } });
  t.teardown(() => app.stop());
  const records: CallDetailRecord[] = [];
  app.events.on('call-ended', (r) => records.push(r));

  await t.test(
    '(a) RTP bleed: a foreign port with the right PT and SSRC never takes the media',
    async (t) => {
      const call = await placeCall(t, app, records, 'rtp-bleed');
      const attacker = await udpSocket(t);
      const stream = new CallerStream(call.caller.socket, call.ourRtpPort);
      const tone = toneFrames(callerHz, 50);
      const attackTone = toneFrames(attackerHz, 400);
      const rejectedBefore = rejectedInputs.count('rtp');

      let attacking = true;
      let attackerSent = 0;
      const attack = (async () => {
        await sleep(200); // after the caller's first packets latched the session
        for (let i = 0; attacking; i++) {
          // The best an off-path attacker can do: the caller's SSRC, the next sequence numbers.
          const packet = serializeRtp({
            payloadType: 0,
            seq: (stream.seq + 1) & 0xffff,
            ts: (stream.ts + 160) >>> 0,
            ssrc: stream.ssrc,
            marker: false,
            payload: attackTone[i % attackTone.length]!,
          });
          attacker.socket.send(packet, call.ourRtpPort, '127.0.0.1');
          attackerSent++;
          await sleep(10); // 100 datagrams/s: twice the caller's rate
        }
      })();

      // Phase 1: one utterance, then enough silence for the agent's VAD to close the turn.
      await paced(50, (i) => stream.send(tone[i]!));
      await paced(30, () => stream.send(Buffer.alloc(160, ulawSilence)));
      const beforePause = call.caller.received.length;
      // 2.5 s with nothing from the caller (muted, silence suppression) while the attacker goes on.
      await stream.pause(2500);
      const duringPause = call.caller.received.length - beforePause;
      // Phase 2: the caller speaks again from its own port.
      const beforePhase2 = call.caller.received.length;
      await paced(50, (i) => stream.send(tone[i]!));
      await paced(40, () => stream.send(Buffer.alloc(160, ulawSilence)));
      await sleep(1500); // the second echo plays out
      attacking = false;
      await attack;
      await sleep(100);
      const afterPhase2 = call.caller.received.length - beforePhase2;

      t.equal(attacker.received.length, 0, 'not one datagram of ours reached the attacker');
      t.ok(
        duringPause >= 25,
        `the first echo reached the caller's port during its silence: ${duringPause} packets`,
      );
      t.ok(
        afterPhase2 >= 25,
        `the second echo reached the caller's port after the attack: ${afterPhase2} packets`,
      );
      const echoed = payloadsOf(call.caller.received);
      const heard = agentHeard(app, call.agentConnection);
      for (const [what, audio] of [
        ['the echo the caller got back', echoed],
        ['the audio the agent was sent', heard],
      ] as const) {
        const ours = tonePower(audio, callerHz);
        const theirs = tonePower(audio, attackerHz);
        t.ok(ours > 0, `${what} carries the caller's ${callerHz} Hz tone`);
        t.ok(
          theirs < ours * 1e-3,
          `${what}: ${attackerHz} Hz (attacker) at ${(10 * Math.log10(theirs / ours)).toFixed(0)} dB below ${callerHz} Hz`,
        );
      }
      t.equal(
        rejectedInputs.count('rtp') - rejectedBefore,
        attackerSent,
        `each of the attacker's ${attackerSent} datagrams is a rejected input (foreign source)`,
      );
      const record = await call.hangUp();
      t.equal(record?.endReason, 'remote-bye');
      t.equal(record?.media?.lost, 0, 'no inbound packets lost');
    },
  );

  await t.test(
    '(b) garbage from the caller’s own address: dropped, counted, the audio stays clean',
    async (t) => {
      const call = await placeCall(t, app, records, 'rtp-garbage');
      const stream = new CallerStream(call.caller.socket, call.ourRtpPort);
      const tone = toneFrames(callerHz, 60);
      const noise = toneFrames(attackerHz, 1)[0]!; // what would be heard if any of it got through
      /** Malformed variants of "the next packet", each with the attacker tone as payload. */
      const next = (edit: (b: Buffer) => Buffer | undefined, ssrc = stream.ssrc, pt = 0): Buffer => {
        const b = serializeRtp({
          payloadType: pt,
          seq: stream.seq,
          ts: stream.ts,
          ssrc,
          marker: false,
          payload: noise,
        });
        return edit(b) ?? b;
      };
      const garbage: (() => Buffer)[] = [
        () => next((b) => void (b[0] = 0x40)), // version 1
        () => next((b) => b.subarray(0, 20).fill(0x8f, 0, 1)), // 15 CSRCs announced in 20 bytes
        () => next((b) => void ((b[0] = 0x90), b.writeUInt16BE(0xffff, 14))), // X=1, 0xffff words
        () => next((b) => void ((b[0] = 0xa0), (b[b.length - 1] = 0))), // padding count 0
        () => next((b) => void ((b[0] = 0xa0), (b[b.length - 1] = 255))), // padding past the payload
        () => next((b) => b.subarray(0, 8)), // too short
        () => next(() => undefined, stream.ssrc, 96), // PT 96, not negotiated
        () => next((b) => void (b[1] = 200)), // an RTCP SR header on the RTP port
        () => next(() => undefined, (Math.random() * 0xffffffff) >>> 0), // a stray SSRC
      ];
      const rejectedBefore = rejectedInputs.count('rtp');
      let garbageSent = 0;
      const sendWithGarbage = (payload: Buffer): void => {
        call.caller.socket.send(garbage[garbageSent % garbage.length]!(), call.ourRtpPort, '127.0.0.1');
        garbageSent++;
        stream.send(payload);
      };
      await paced(60, (i) => sendWithGarbage(tone[i]!));
      await paced(40, () => sendWithGarbage(Buffer.alloc(160, ulawSilence)));
      await sleep(1800); // the echo plays out
      await until(() => rejectedInputs.count('rtp') - rejectedBefore >= garbageSent, 2000);

      t.equal(
        rejectedInputs.count('rtp') - rejectedBefore,
        garbageSent,
        `rejected input of kind rtp rose by the ${garbageSent} malformed datagrams`,
      );
      const echoed = payloadsOf(call.caller.received);
      const ours = tonePower(echoed, callerHz);
      const theirs = tonePower(echoed, attackerHz);
      t.ok(call.caller.received.length >= 40, `the echo came back: ${call.caller.received.length} packets`);
      t.ok(
        theirs < ours * 1e-3,
        `no garbage payload in the echo: ${attackerHz} Hz at ${(10 * Math.log10(theirs / ours)).toFixed(0)} dB`,
      );
      const heard = agentHeard(app, call.agentConnection);
      t.ok(
        tonePower(heard, attackerHz) < tonePower(heard, callerHz) * 1e-3,
        'nor in what the agent was sent',
      );
      const record = await call.hangUp();
      t.equal(record?.endReason, 'remote-bye');
      t.equal(record?.media?.lost, 0, '0 lost counted against the real stream');
      t.equal(record?.media?.packetsIn, 100, 'every real packet, and only those, counted in');
    },
  );
});
