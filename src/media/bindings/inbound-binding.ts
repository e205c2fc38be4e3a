// Raw shape of the InboundAudio binding (native/addon_inbound.cc).
// Only the typed wrappers in src/media/ use it. (stub: filled in by the jitter-buffer work)
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface InboundBinding {}
