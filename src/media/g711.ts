// G.711 mu-law / A-law on whole Buffers (native/g711.cc, bit-exact with the ITU-T G.191 reference).
// PCM is 16-bit little-endian; one G.711 byte per sample.
import { native } from './native-addon.js';

/** PCM16 (even byte length) -> mu-law bytes. @throws TypeError / RangeError on a bad buffer. */
export function encodeUlaw(pcm: Uint8Array): Buffer {
  return native.ulawEncode(pcm);
}

/** PCM16 (even byte length) -> A-law bytes. @throws TypeError / RangeError on a bad buffer. */
export function encodeAlaw(pcm: Uint8Array): Buffer {
  return native.alawEncode(pcm);
}

/** mu-law bytes -> PCM16. @throws TypeError when not a Buffer/Uint8Array. */
export function decodeUlaw(codes: Uint8Array): Buffer {
  return native.ulawDecode(codes);
}

/** A-law bytes -> PCM16. @throws TypeError when not a Buffer/Uint8Array. */
export function decodeAlaw(codes: Uint8Array): Buffer {
  return native.alawDecode(codes);
}

/** A-law -> mu-law, code by code (no PCM step). */
export function alawToUlaw(codes: Uint8Array): Buffer {
  return native.alawToUlaw(codes);
}

/** mu-law -> A-law, code by code (no PCM step). */
export function ulawToAlaw(codes: Uint8Array): Buffer {
  return native.ulawToAlaw(codes);
}
