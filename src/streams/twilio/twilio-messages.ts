// Twilio Media Streams messages (twilio.com/docs/voice/media-streams/websocket-messages), parsed
// once at the edge into typed values; anything else is a protocol error with a reason.
//
//   from Twilio: connected {protocol, version}
//                start     {streamSid, start: {accountSid, callSid, streamSid, tracks,
//                           customParameters, mediaFormat: {encoding, sampleRate, channels}}}
//                media     {streamSid, media: {track, chunk, timestamp, payload (base64 μ-law)}}
//                dtmf      {streamSid, dtmf: {track, digit}}
//                mark      {streamSid, mark: {name}}   (a mark we sent has been played)
//                stop      {streamSid, stop: {accountSid, callSid}}
//   to Twilio:   media {streamSid, media: {payload}}, mark {streamSid, mark: {name}}, clear {streamSid}
import { isDtmfDigit, type DtmfDigit } from '../../media/dtmf-event.js';

export type TwilioInbound =
  | { readonly event: 'connected' }
  | {
      readonly event: 'start';
      readonly streamSid: string;
      readonly callSid: string;
      readonly accountSid: string;
      readonly encoding: string;
      readonly sampleRate: number;
      readonly customParameters: Readonly<Record<string, string>>;
    }
  | {
      readonly event: 'media';
      readonly chunk: number;
      readonly timestampMs: number;
      readonly payload: Buffer;
    }
  | { readonly event: 'dtmf'; readonly digit: DtmfDigit }
  | { readonly event: 'mark'; readonly name: string }
  | { readonly event: 'stop' }
  /** An event this parser does not know (one Twilio added later): ignored, the stream goes on. */
  | { readonly event: 'other'; readonly name: string };

export class TwilioProtocolError extends Error {}

const maxPayloadBytes = 960; // 120 ms of μ-law: Twilio sends 20 ms (160 bytes)

function obj(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value))
    throw new TwilioProtocolError(`${what} is not an object`);
  return value as Record<string, unknown>;
}

function str(value: unknown, what: string): string {
  if (typeof value !== 'string') throw new TwilioProtocolError(`${what} is not a string`);
  return value;
}

/** Twilio sends numbers as decimal strings ("chunk": "2"). */
function num(value: unknown, what: string): number {
  const n = typeof value === 'string' && /^\d{1,15}$/.test(value) ? Number(value) : value;
  if (typeof n !== 'number' || !Number.isSafeInteger(n) || n < 0)
    throw new TwilioProtocolError(`${what} is not a non-negative integer`);
  return n;
}

/** @throws TwilioProtocolError naming what is wrong. */
export function parseTwilioMessage(text: string): TwilioInbound {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    throw new TwilioProtocolError('message is not JSON');
  }
  const m = obj(raw, 'message');
  switch (m.event) {
    case 'connected':
      return { event: 'connected' };
    case 'start': {
      const start = obj(m.start, 'start');
      const format = obj(start.mediaFormat, 'start.mediaFormat');
      const params =
        start.customParameters === undefined ? {} : obj(start.customParameters, 'customParameters');
      const customParameters: Record<string, string> = {};
      for (const [k, v] of Object.entries(params)) customParameters[k] = str(v, `customParameters.${k}`);
      return {
        event: 'start',
        streamSid: str(start.streamSid ?? m.streamSid, 'start.streamSid'),
        callSid: str(start.callSid, 'start.callSid'),
        accountSid: str(start.accountSid, 'start.accountSid'),
        encoding: str(format.encoding, 'mediaFormat.encoding'),
        sampleRate: num(format.sampleRate, 'mediaFormat.sampleRate'),
        customParameters,
      };
    }
    case 'media': {
      const media = obj(m.media, 'media');
      const b64 = str(media.payload, 'media.payload');
      if (b64.length > ((maxPayloadBytes + 2) / 3) * 4 + 4)
        throw new TwilioProtocolError('media.payload too long');
      const payload = Buffer.from(b64, 'base64');
      if (payload.length === 0) throw new TwilioProtocolError('media.payload is empty');
      return {
        event: 'media',
        chunk: num(media.chunk, 'media.chunk'),
        timestampMs: num(media.timestamp, 'media.timestamp'),
        payload,
      };
    }
    case 'dtmf': {
      const digit = str(obj(m.dtmf, 'dtmf').digit, 'dtmf.digit').toUpperCase();
      if (!isDtmfDigit(digit)) throw new TwilioProtocolError(`dtmf.digit ${JSON.stringify(digit)}`);
      return { event: 'dtmf', digit };
    }
    case 'mark':
      return { event: 'mark', name: str(obj(m.mark, 'mark').name, 'mark.name') };
    case 'stop':
      return { event: 'stop' };
    default:
      if (typeof m.event !== 'string') throw new TwilioProtocolError('message without an event name');
      return { event: 'other', name: m.event.slice(0, 40) };
  }
}

/** The outbound media message, built without an object per frame (50 a second per call). */
export function twilioMediaMessage(streamSidJson: string, frame: Buffer): string {
  return `{"event":"media","streamSid":${streamSidJson},"media":{"payload":"${frame.toString('base64')}"}}`;
}

export function twilioMarkMessage(streamSidJson: string, name: string): string {
  return `{"event":"mark","streamSid":${streamSidJson},"mark":{"name":${JSON.stringify(name)}}}`;
}

export function twilioClearMessage(streamSidJson: string): string {
  return `{"event":"clear","streamSid":${streamSidJson}}`;
}
