// What one realtime WebSocket may cost us, whoever is at the other end (Grok, a proxy in
// between, a broken or hostile server, or a client of the local agent). Each bound names the
// legitimate traffic it leaves room for; docs/security-realtime.md lists what happens past it.

/**
 * Largest message (text or binary, after permessage-deflate inflation) we accept; `ws` refuses
 * a bigger one with close code 1009 before buffering it (RFC 6455 §7.4.1). The largest
 * legitimate frame is one `response.output_audio.delta`: base64 is 4/3 of the audio, so 4 MiB
 * holds 3 MiB of audio = 65 s of PCM16 at 24 kHz (our widest format), 33 s at 48 kHz (Grok's
 * widest), 6.5 min of G.711. Grok streams deltas of tens of ms (a few KB); session.updated
 * echoes our instructions and tools (tens of KB). The same bound holds for what the local
 * agent accepts from a client: our own appends are 20 ms each.
 */
export const maxRealtimeFrameBytes = 4 * 1024 * 1024;

/**
 * A frame, or a fragmented message, that started arriving this long ago and has not ended
 * is treated as a stalled server: `ws` keeps such a message to itself (no event fires), so
 * without this the agent would just go mute. 10 s: a 1 MiB frame arrives within it at under
 * 1 Mbit/s, and by then the caller has heard 10 s of silence.
 */
export const frameStallMs = 10_000;

/**
 * How long a closing socket waits for the peer's close frame before it is destroyed (ws
 * defaults to 30 s): after we refuse a frame (1009, 1007, 1002) the call must not wait on the
 * server that sent it.
 */
export const closeHandshakeMs = 2000;

/**
 * Bytes we have handed to a realtime socket that the server has not read yet (beyond what the
 * kernel holds). Past this the server has stopped reading and the socket is given up: 1 MiB is
 * 16 s of caller audio appended as PCM16 at 24 kHz (base64 in JSON), 95 s of G.711.
 */
export const maxUnsentBytes = 1024 * 1024;

/**
 * Function calls a session passes on to the call's tools: a burst of this many, then this many
 * per second. A model asks for a handful per turn; each one may run a webhook, so a server that
 * announces thousands must not turn into thousands of HTTP requests.
 */
export const functionCallBurst = 20;
export const functionCallsPerSecond = 5;
