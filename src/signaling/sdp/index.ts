// The one SDP module (RFC 4566 / RFC 3264), shared by the embedded and drachtio backends.
export {
  SdpError,
  answerDirection,
  type CallCodec,
  type MediaDirection,
  type NegotiatedMedia,
  type OfferedMLine,
  type RemoteCodec,
  type RemoteMedia,
} from './media-description.js';
export { parseSdp } from './parse-sdp.js';
export {
  buildAnswer,
  buildOffer,
  negotiate,
  parseAnswer,
  type CodecPrefs,
  type LocalMedia,
  type LocalOffer,
} from './offer-answer.js';
