// Transfer of a Media Streams call: Twilio's call-update REST API
// (POST /2010-04-01/Accounts/{AccountSid}/Calls/{CallSid}.json, form field `Twiml`, HTTP Basic
// auth AccountSid:AuthToken) replaces the call's TwiML with a <Dial> to the target. Twilio then
// leaves <Connect><Stream> (the stream gets `stop`) and dials. Credentials come from the config's
// ${TWILIO_ACCOUNT_SID} / ${TWILIO_AUTH_TOKEN} references, never the file itself.
import type { StreamTransferOutcome } from '../media-stream-call.js';
import { dialTwiml } from './twiml.js';

export interface TwilioRestCredentials {
  readonly accountSid: string;
  readonly authToken: string;
  /** https://api.twilio.com; tests point it at a local server. */
  readonly apiBaseUrl: string;
}

const timeoutMs = 10_000;

export async function redirectCallToDial(
  credentials: TwilioRestCredentials,
  callSid: string,
  target: string,
): Promise<StreamTransferOutcome> {
  const { accountSid, authToken, apiBaseUrl } = credentials;
  const url = `${apiBaseUrl.replace(/\/$/, '')}/2010-04-01/Accounts/${encodeURIComponent(accountSid)}/Calls/${encodeURIComponent(callSid)}.json`;
  try {
    const response = await fetch(url, {
      method: 'POST',
      headers: {
        authorization: `Basic ${Buffer.from(`${accountSid}:${authToken}`).toString('base64')}`,
        'content-type': 'application/x-www-form-urlencoded',
      },
      body: new URLSearchParams({ Twiml: dialTwiml(target) }).toString(),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await response.arrayBuffer().catch(() => undefined);
    return { accepted: response.ok, status: response.status, reason: response.statusText || 'call update' };
  } catch (err) {
    return { accepted: false, status: 503, reason: err instanceof Error ? err.message : String(err) };
  }
}
