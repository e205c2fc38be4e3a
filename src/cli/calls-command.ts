// `grok-sip calls`: the live calls of a running instance (inbound and outbound), from its REST API.
import { parseArgs } from 'node:util';
import { ApiClient, ApiError, DEFAULT_API_URL } from './api-client.js';

const usage = `usage: grok-sip calls [--api URL] [--json]

Lists the live calls of a running grok-sip (its REST API; GROK_SIP_API_TOKEN must be set).

      --api <url>   the instance's HTTP listener (default GROK_SIP_API_URL or ${DEFAULT_API_URL})
      --json        print the list as JSON
  -h, --help        this text`;

export async function run(argv: readonly string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      strict: true,
      options: { api: { type: 'string' }, json: { type: 'boolean' }, help: { type: 'boolean', short: 'h' } },
    }));
  } catch (err) {
    console.error(`grok-sip calls: ${(err as Error).message}\n\n${usage}`);
    return 2;
  }
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const token = process.env.GROK_SIP_API_TOKEN;
  if (token === undefined || token === '') {
    console.error(`grok-sip calls: GROK_SIP_API_TOKEN is not set\n\n${usage}`);
    return 2;
  }
  const client = new ApiClient(values.api ?? process.env.GROK_SIP_API_URL ?? DEFAULT_API_URL, token);
  let calls;
  try {
    calls = await client.list();
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    console.error(`grok-sip calls: ${err.message}`);
    return 1;
  }
  if (values.json === true) {
    console.log(JSON.stringify(calls, null, 2));
    return 0;
  }
  if (calls.length === 0) {
    console.log('no calls');
    return 0;
  }
  const now = Date.now();
  const rows = calls.map((c) => [
    c.id,
    c.direction,
    c.state,
    c.from,
    c.to,
    c.agent ?? '',
    c.trunk ?? '',
    `${Math.round((now - Date.parse(c.startedAt)) / 1000)} s`,
  ]);
  const header = ['ID', 'DIRECTION', 'STATE', 'FROM', 'TO', 'AGENT', 'TRUNK', 'AGE'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  for (const row of [header, ...rows])
    console.log(
      row
        .map((cell, i) => cell.padEnd(widths[i]!))
        .join('  ')
        .trimEnd(),
    );
  return 0;
}
