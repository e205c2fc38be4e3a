// grok-sip as a library: start it in your process, give the agent an in-process tool, follow the
// typed events, and place an outbound call through a trunk.
//
//   npm install grok-sip
//   XAI_API_KEY=... TRUNK_PROXY=sip:carrier.example.com TRUNK_USER=... TRUNK_PASSWORD=... \
//     node --experimental-strip-types outbound-reminder.ts +15551234
//
// Without XAI_API_KEY the built-in local agent (echo) answers: good for a first run against SIPp.
// SIP_PORT, RTP_MIN and RTP_MAX move the listeners (defaults 5070, 40000-40099).
import { startGrokSip, PlaceCallError, type GrokSip } from 'grok-sip';

const to = process.argv[2];
if (to === undefined) {
  console.error('usage: outbound-reminder.ts <number-or-sip-uri>');
  process.exit(2);
}
const env = process.env;

const grokSip: GrokSip = await startGrokSip({
  config: {
    sip: { listen: [{ transport: 'udp', address: '127.0.0.1', port: Number(env.SIP_PORT ?? 5070) }] },
    media: { portMin: Number(env.RTP_MIN ?? 40000), portMax: Number(env.RTP_MAX ?? 40099) },
    agents: {
      profiles: [
        {
          name: 'reminder',
          voice: 'Eve',
          instructions:
            'You call {{name}} to remind them of their appointment. Use lookup_appointment to find it. Be brief.',
          greeting: 'Hello {{name}}, this is the clinic calling about your appointment.',
          tools: [{ type: 'end_call' }],
        },
      ],
      routes: [],
    },
    trunks: [
      {
        name: 'carrier',
        proxy: env.TRUNK_PROXY ?? 'sip:127.0.0.1:5080',
        // ${...} references are read from the environment, never written in code or files.
        ...(env.TRUNK_USER !== undefined && { username: '${TRUNK_USER}', password: '${TRUNK_PASSWORD}' }),
      },
    ],
  },
  tools: {
    lookup_appointment: {
      description: 'The next appointment of the person called',
      parameters: { type: 'object', properties: {} },
      handler: (_args, call) => {
        console.log(`[${call.callId}] lookup_appointment`);
        return { date: 'Tuesday', time: '10:30', doctor: 'Dr. Okafor' };
      },
    },
  },
  localAgent:
    env.EXAMPLE_LOCAL_AGENT_SCRIPT !== undefined ? JSON.parse(env.EXAMPLE_LOCAL_AGENT_SCRIPT) : undefined,
});

grokSip.events.on('call-started', (c) => console.log(`call-started ${c.direction} ${c.to} agent=${c.agent}`));
grokSip.events.on('transcript', (t) => console.log(`${t.role}: ${t.text}`));
grokSip.events.on('dtmf', (d) => console.log(`dtmf ${d.digit}`));
grokSip.events.on('call-ended', (cdr) => console.log(`call-ended ${cdr.endReason} sip=${cdr.sipStatus}`));

try {
  const call = grokSip.placeCall({ to, trunk: 'carrier', agent: 'reminder', variables: { name: 'Ada' } });
  call.on('state', (state) => console.log(`state ${state}`));
  // Hang up after HANGUP_AFTER_MS if the callee does not (the agent can also end_call).
  const timer = setTimeout(() => call.hangup(), Number(env.HANGUP_AFTER_MS ?? 60_000));
  const cdr = await call.done;
  clearTimeout(timer);
  console.log(
    JSON.stringify({ endReason: cdr.endReason, sipStatus: cdr.sipStatus, durationMs: cdr.durationMs }),
  );
} catch (err) {
  if (err instanceof PlaceCallError) console.error(`cannot place the call: ${err.message} (${err.field})`);
  else throw err;
} finally {
  await grokSip.stop();
}
