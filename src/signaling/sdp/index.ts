// The one SDP module (RFC 4566 / RFC 3264), shared by the embedded and drachtio backends.
export {
  SdpError,
  answerDirection,
  type CallCodec,
  type MediaDirection,
  type NegotiatedMedia,
  type NegotiatedSrtp,
  type OfferedMLine,
  type RemoteCodec,
  type RemoteMedia,
  type SrtpPolicy,
} from './media-description.js';
export { formatCryptoAttribute, freshCrypto, parseCryptoAttribute, type SdesCrypto } from './sdes-crypto.js';
export { parseSdp } from './parse-sdp.js';
export {
  buildAnswer,
  buildOffer,
  negotiate,
  offeredCrypto,
  parseAnswer,
  type CodecPrefs,
  type LocalMedia,
  type LocalOffer,
} from './offer-answer.js';
