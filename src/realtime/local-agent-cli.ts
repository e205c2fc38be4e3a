// `grok-sip local-agent …`: the local agent as a standalone server, e.g. to point a second
// grok-sip (or any realtime client) at it. The command wiring lives in src/cli.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import {
  startLocalAgent,
  type LocalAgent,
  type LocalAgentOptions,
} from './local-agent/local-agent-server.js';
import { localAgentScriptSchema } from './local-agent/agent-script.js';
import { strictLiveShape, type LiveShape } from './local-agent/live-shape.js';

export const localAgentUsage = `usage: local-agent [--host 127.0.0.1] [--port 0] [--mode echo|scripted]
                   [--script script.json] [--delta-ms 40] [--burst-ms 400] [--burst-interval-ms 200]
                   [--vad-threshold-dbfs -40] [--live] [--ping-interval-ms 10000]
                   [--cancel-lag-ms 0] [--max-session-ms 0]
  --live: every wire shape as the live service (no caller transcript unless the session asks)`;

function numberOption(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new RangeError(`--${name} must be a number from ${min} to ${max}, got ${value}`);
  }
  return n;
}

/** Parses the arguments into agent options; throws TypeError/RangeError naming the bad one. */
export function parseLocalAgentArgs(argv: readonly string[]): LocalAgentOptions {
  let values;
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: {
        host: { type: 'string' },
        port: { type: 'string' },
        mode: { type: 'string' },
        script: { type: 'string' },
        'delta-ms': { type: 'string' },
        'burst-ms': { type: 'string' },
        'burst-interval-ms': { type: 'string' },
        'vad-threshold-dbfs': { type: 'string' },
        live: { type: 'boolean' },
        'ping-interval-ms': { type: 'string' },
        'cancel-lag-ms': { type: 'string' },
        'max-session-ms': { type: 'string' },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new TypeError(`${(err as Error).message}\n${localAgentUsage}`, { cause: err });
  }
  const mode = values.mode ?? (values.script !== undefined ? 'scripted' : 'echo');
  if (mode !== 'echo' && mode !== 'scripted')
    throw new RangeError(`--mode must be echo or scripted, got ${mode}`);
  const options: { -readonly [K in keyof LocalAgentOptions]: LocalAgentOptions[K] } = { mode };
  if (values.host !== undefined) options.host = values.host;
  const port = numberOption('port', values.port, 0, 65535);
  if (port !== undefined) options.port = port;
  if (values.script !== undefined) {
    let json: unknown;
    try {
      json = JSON.parse(readFileSync(values.script, 'utf8'));
    } catch (err) {
      throw new TypeError(`--script ${values.script}: ${(err as Error).message}`, { cause: err });
    }
    const parsed = localAgentScriptSchema.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new TypeError(
        `--script ${values.script}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? ''}`,
      );
    }
    options.script = parsed.data;
  }
  const pacing: { deltaMs?: number; burstMs?: number; burstIntervalMs?: number } = {};
  const deltaMs = numberOption('delta-ms', values['delta-ms'], 1, 1000);
  const burstMs = numberOption('burst-ms', values['burst-ms'], 1, 60_000);
  const burstIntervalMs = numberOption('burst-interval-ms', values['burst-interval-ms'], 0, 60_000);
  if (deltaMs !== undefined) pacing.deltaMs = deltaMs;
  if (burstMs !== undefined) pacing.burstMs = burstMs;
  if (burstIntervalMs !== undefined) pacing.burstIntervalMs = burstIntervalMs;
  if (Object.keys(pacing).length > 0) options.pacing = pacing;
  const threshold = numberOption('vad-threshold-dbfs', values['vad-threshold-dbfs'], -96, 0);
  if (threshold !== undefined) options.vadThresholdDbfs = threshold;
  const live: { -readonly [K in keyof LiveShape]?: LiveShape[K] } =
    values.live === true ? { ...strictLiveShape } : {};
  const pingIntervalMs = numberOption('ping-interval-ms', values['ping-interval-ms'], 0, 3_600_000);
  const cancelLagMs = numberOption('cancel-lag-ms', values['cancel-lag-ms'], 0, 60_000);
  const maxSessionMs = numberOption('max-session-ms', values['max-session-ms'], 0, 86_400_000);
  if (pingIntervalMs !== undefined) live.pingIntervalMs = pingIntervalMs;
  if (cancelLagMs !== undefined) live.cancelLagMs = cancelLagMs;
  if (maxSessionMs !== undefined) live.maxSessionMs = maxSessionMs;
  if (Object.keys(live).length > 0) options.live = live;
  return options;
}

/**
 * Starts the agent and prints its URL; the caller decides when to close it (the CLI on
 * SIGINT/SIGTERM). Rejects with TypeError/RangeError on bad arguments.
 */
export async function runLocalAgentCli(
  argv: readonly string[],
  out: (line: string) => void = (line) => process.stdout.write(`${line}\n`),
): Promise<LocalAgent> {
  const options = parseLocalAgentArgs(argv);
  // Nobody reads `received` of a standalone agent: keeping it would only grow the heap.
  const agent = await startLocalAgent({ ...options, recordClientEvents: false });
  out(`local agent (${options.mode ?? 'echo'}) listening on ${agent.url}`);
  return agent;
}
