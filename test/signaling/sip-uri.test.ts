// The one SIP-URI user helper both backends use: never a throw, and a bad %-escape is detected
// so the backend answers 400 (drachtio-srf answered 500 via console.error for `%C3%28`).
import t from 'tap';
import { hasBadEscape, uriUser } from '../../src/signaling/sip-uri.js';

t.test('bad percent-escapes are detected, never thrown', async (t) => {
  for (const uri of ['sip:%C3%28@127.0.0.1', '<sip:%E0%A4%A@h>', 'sip:%ZZ@h', 'sips:%FF@h;user=phone']) {
    t.equal(hasBadEscape(uri), true, `${uri} has a bad escape`);
    t.equal(uriUser(uri), null, `${uri}: no user rather than a throw`);
  }
  for (const [uri, user] of [
    ['sip:%34%30%30%30@h', '4000'],
    ['"A" <sip:caf%C3%A9@h>;tag=1', 'café'],
    ['sip:echo@127.0.0.1', 'echo'],
  ] as const) {
    t.equal(hasBadEscape(uri), false, `${uri} decodes`);
    t.equal(uriUser(uri), user);
  }
  t.equal(hasBadEscape('sip:h'), false, 'no user part, nothing to decode');
});
