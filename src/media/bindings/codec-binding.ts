// Raw shape of the G.711 / Resampler / OutboundAudio bindings (native/addon_codec.cc).
// Only the typed wrappers in src/media/ use it. (stub: filled in by the codec work)
// eslint-disable-next-line @typescript-eslint/no-empty-object-type
export interface CodecBinding {}
