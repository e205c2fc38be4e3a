// The TwiML we answer with (twilio.com/docs/voice/twiml/stream): <Connect><Stream> opens a
// bidirectional stream to us, each <Parameter> comes back in the stream's start message
// (customParameters); when we close the stream Twilio goes on with the next verb, <Hangup/>.
// A transfer replaces the call's TwiML with <Dial> (twilio-call-update.ts).

function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export function connectStreamTwiml(streamUrl: string, parameters: Readonly<Record<string, string>>): string {
  const params = Object.entries(parameters)
    .map(([name, value]) => `<Parameter name="${escapeXml(name)}" value="${escapeXml(value)}"/>`)
    .join('');
  return (
    '<?xml version="1.0" encoding="UTF-8"?>' +
    `<Response><Connect><Stream url="${escapeXml(streamUrl)}">${params}</Stream></Connect><Hangup/></Response>`
  );
}

/** A refusal (no agent for the number, over capacity, draining): Twilio plays busy. */
export function rejectTwiml(): string {
  return '<?xml version="1.0" encoding="UTF-8"?><Response><Reject reason="busy"/></Response>';
}

/** sip: URIs dial as <Sip>, anything else (E.164, tel:) as <Number>. */
export function dialTwiml(target: string): string {
  const noun = /^sips?:/i.test(target)
    ? `<Sip>${escapeXml(target)}</Sip>`
    : `<Number>${escapeXml(target.replace(/^tel:/i, ''))}</Number>`;
  return `<?xml version="1.0" encoding="UTF-8"?><Response><Dial>${noun}</Dial></Response>`;
}
