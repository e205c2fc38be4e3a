// RFC 3261 §8.2.2.3 Require: a UAS that does not understand an option tag a request requires
// answers 420 (Bad Extension) listing it in Unsupported, so the peer can retry without it. We
// implement no extension a peer may require — 100rel (RFC 3262) and timer (RFC 4028) included —
// and neither sip.js (a TODO there) nor drachtio-server checks it for us. Both backends check
// every request but ACK and CANCEL (which §8.2.2.3 exempts) and BYE: refusing a BYE would leave
// our side of a call the peer has already ended (§15.1.1). RFC 4475 bext01 is an OPTIONS.

/** Whether a request of this method is refused for a Require we do not support. */
export function requireApplies(method: string): boolean {
  return method !== 'ACK' && method !== 'CANCEL' && method !== 'BYE';
}

/** Option tags named in Require header value(s) that we do not support, each once, in order. */
export function unsupportedOptionTags(requireValues: readonly (string | undefined)[]): string[] {
  const tags = requireValues
    .flatMap((v) => (v ?? '').split(','))
    .map((tag) => tag.trim())
    .filter((tag) => /^[A-Za-z0-9.!%*_+`'~-]+$/.test(tag));
  return [...new Set(tags)];
}
