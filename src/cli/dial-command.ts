// `grok-sip dial <number-or-uri> --trunk NAME --agent NAME`: places a call through a running
// instance's REST API, prints each state as it changes and the result. Ctrl-C hangs the call up.
// Exit 0 when the call was answered, 1 when it was not (busy, no answer, failed) or the API
// refused it, 2 for bad arguments.
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, DEFAULT_API_URL, type ApiCall } from './api-client.js';

const usage = `usage: grok-sip dial <number-or-uri> --trunk NAME --agent NAME [options]

Places a call through a running grok-sip (its REST API; GROK_SIP_API_TOKEN must be set) and
follows it to its end.

  -t, --trunk <name>       trunk to call through (trunks[].name)
  -a, --agent <name>       agent profile on the call once answered
      --from <user>        From user (default the trunk's fromUser)
      --var <name=value>   fill {{name}} in the profile's instructions and greeting (repeatable)
      --timeout <sec>      ring timeout (at most the trunk's ringTimeoutSec)
      --wait-for-callee    greet after the callee speaks (or 2 s of silence)
      --api <url>          the instance's HTTP listener (default GROK_SIP_API_URL or ${DEFAULT_API_URL})
      --detach             print the call id and exit; do not follow the call
      --json               print the final call (with its CDR) as JSON
  -h, --help               this text`;

export async function run(argv: readonly string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        trunk: { type: 'string', short: 't' },
        agent: { type: 'string', short: 'a' },
        from: { type: 'string' },
        var: { type: 'string', multiple: true },
        timeout: { type: 'string' },
        'wait-for-callee': { type: 'boolean' },
        api: { type: 'string' },
        detach: { type: 'boolean' },
        json: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (err) {
    console.error(`grok-sip dial: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const bad = (message: string): number => {
    console.error(`grok-sip dial: ${message}\n\n${usage}`);
    return 2;
  };
  const to = positionals[0];
  if (to === undefined || positionals.length > 1) return bad('one number or SIP URI to call');
  if (values.trunk === undefined) return bad('--trunk is required');
  if (values.agent === undefined) return bad('--agent is required');
  const variables: Record<string, string> = {};
  for (const pair of values.var ?? []) {
    const eq = pair.indexOf('=');
    if (eq <= 0) return bad(`--var ${pair}: expected name=value`);
    variables[pair.slice(0, eq)] = pair.slice(eq + 1);
  }
  let timeoutSec: number | undefined;
  if (values.timeout !== undefined) {
    timeoutSec = Number(values.timeout);
    if (!Number.isInteger(timeoutSec)) return bad('--timeout: whole seconds');
  }
  const token = process.env.GROK_SIP_API_TOKEN;
  if (token === undefined || token === '') return bad('GROK_SIP_API_TOKEN is not set');
  const client = new ApiClient(values.api ?? process.env.GROK_SIP_API_URL ?? DEFAULT_API_URL, token);

  let call: ApiCall;
  try {
    call = await client.place({
      to,
      trunk: values.trunk,
      agent: values.agent,
      ...(values.from !== undefined && { from: values.from }),
      ...(Object.keys(variables).length > 0 && { variables }),
      ...(timeoutSec !== undefined && { timeoutSec }),
      ...(values['wait-for-callee'] === true && { waitForCallee: true }),
    });
  } catch (err) {
    return refused(err);
  }
  if (values.detach === true) {
    console.log(call.id);
    return 0;
  }
  const progress = (text: string): void => {
    if (values.json !== true) console.log(text);
  };
  progress(`call ${call.id} to ${to} via ${values.trunk}: ${call.state}`);
  let hangingUp = false;
  const onSigint = (): void => {
    if (hangingUp) process.exit(130);
    hangingUp = true;
    progress('hanging up (Ctrl-C again to leave it running)');
    client.hangup(call.id).catch((err: unknown) => console.error(`grok-sip dial: ${(err as Error).message}`));
  };
  process.on('SIGINT', onSigint);
  try {
    let last = call.state;
    while (call.state !== 'ended') {
      await new Promise((r) => setTimeout(r, 250));
      try {
        call = await client.get(call.id);
      } catch (err) {
        if (err instanceof ApiError && err.status === 0) continue; // the instance restarting: keep asking
        throw err;
      }
      if (call.state !== last) {
        last = call.state;
        if (call.state !== 'ended') progress(`  ${call.state}`);
      }
    }
  } catch (err) {
    return refused(err);
  } finally {
    process.off('SIGINT', onSigint);
  }
  const cdr = call.cdr;
  if (values.json === true) console.log(JSON.stringify(call, null, 2));
  else {
    progress(
      `  ended: ${cdr?.endReason ?? '?'} (SIP ${cdr?.sipStatus ?? '?'}, ${((cdr?.durationMs ?? 0) / 1000).toFixed(1)} s)`,
    );
  }
  return call.answeredAt !== undefined ? 0 : 1;
}

function refused(err: unknown): number {
  if (err instanceof ApiError) {
    console.error(`grok-sip dial: ${err.message}${err.field !== undefined ? ` (field ${err.field})` : ''}`);
    return 1;
  }
  throw err;
}
