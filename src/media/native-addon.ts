// Loads the C++ media core. cmake-js (npm ci) builds into build-native/, node-gyp into build/;
// GROK_SIP_ADDON points at another build (the ASan one used by `npm run test:asan`).
import { createRequire } from 'node:module';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import type { CodecBinding } from './bindings/codec-binding.js';
import type { InboundBinding } from './bindings/inbound-binding.js';
import type { SrtpBinding } from './bindings/srtp-binding.js';

/** The raw binding. Only the typed wrappers in src/media/ use it. */
export interface NativeAddon extends CodecBinding, InboundBinding, SrtpBinding {
  readonly abiVersion: number;
}

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const candidates = [
  process.env.GROK_SIP_ADDON,
  path.join(root, 'build-native', 'Release', 'grok_sip_media.node'),
  path.join(root, 'build', 'Release', 'grok_sip_media.node'),
].filter((p): p is string => typeof p === 'string' && p.length > 0);

function load(): NativeAddon {
  const require = createRequire(import.meta.url);
  for (const candidate of candidates) {
    if (existsSync(candidate)) return require(candidate) as NativeAddon;
  }
  throw new Error(
    `grok-sip native media core not built (looked in ${candidates.join(', ')}); run \`npm ci\` or \`npm run build:native\``,
  );
}

export const native: NativeAddon = load();
