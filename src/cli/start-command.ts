// `grok-sip start`: answer calls with the config file's settings until SIGTERM/SIGINT.
// SIGTERM (or a first SIGINT) drains: 503 to new calls, un-REGISTER, live calls may finish up to
// shutdown.drainTimeoutSec, then BYE. A second SIGINT exits at once.
import { parseArgs } from 'node:util';
import { startGrokSip, type GrokSipApp } from '../app/grok-sip-app.js';
import { ConfigError, loadConfig, type GrokSipConfig } from '../config/load-config.js';
import { logger } from '../observability/logger.js';
import { startObservability } from '../app/observability-wiring.js';
import { installProcessSafetyNet } from './process-safety-net.js';

const usage = `usage: grok-sip start [--config sip-config/grok-sip.yaml]

Answers SIP calls (listeners in sip.listen) and bridges each one to the agent profile its dialled
user routes to. With XAI_API_KEY set, agents are Grok (realtime.url); without it, the built-in
local agent answers in this process and echoes what the caller says.

  -c, --config <file>   config file (default sip-config/grok-sip.yaml)
  -h, --help            this text

Signals: SIGTERM drains (503 to new calls, un-REGISTER, live calls finish up to
shutdown.drainTimeoutSec, then BYE); SIGINT once drains too, twice exits at once;
SIGHUP reads the TLS listeners' certificate, key and CA files again (calls stay up).`;

export async function run(argv: readonly string[]): Promise<number> {
  let values: { config?: string | undefined; help?: boolean | undefined };
  try {
    ({ values } = parseArgs({
      args: [...argv],
      options: { config: { type: 'string', short: 'c' }, help: { type: 'boolean', short: 'h' } },
      strict: true,
    }));
  } catch (err) {
    console.error(`grok-sip start: ${err instanceof Error ? err.message : String(err)}\n\n${usage}`);
    return 2;
  }
  if (values.help === true) {
    console.log(usage);
    return 0;
  }
  const file = values.config ?? 'sip-config/grok-sip.yaml';
  let config: GrokSipConfig;
  try {
    config = loadConfig(file);
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`${file}: invalid config\n${err.problems.map((p) => `  ${p}`).join('\n')}`);
      return 1;
    }
    throw err;
  }

  installProcessSafetyNet(logger);
  const apiToken = process.env.GROK_SIP_API_TOKEN;
  let observability: Awaited<ReturnType<typeof startObservability>>;
  try {
    observability = await startObservability(config, logger, {
      ...(apiToken !== undefined && apiToken !== '' && { apiToken }),
    });
  } catch (err) {
    console.error(`grok-sip start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  let app: GrokSipApp;
  try {
    app = await startGrokSip(config, { observer: observability.observer, localAgentThread: true });
  } catch (err) {
    await observability.close();
    console.error(`grok-sip start: ${err instanceof Error ? err.message : String(err)}`);
    return 1;
  }
  observability.attach(app);
  const listeners = config.sip.listen.map((l) => `${l.transport}:${l.address}:${l.port}`).join(' ');
  const agent = app.usesLocalAgent
    ? `local agent (echo) at ${app.realtimeUrl}`
    : `Grok at ${app.realtimeUrl}`;
  console.log(`grok-sip: answering SIP on ${listeners}; agent: ${agent}; http: ${observability.url}`);

  return new Promise<number>((resolve) => {
    let stopping = false;
    const drain = (signal: string): void => {
      if (stopping) {
        if (signal === 'SIGINT') {
          console.error('grok-sip: second SIGINT, exiting now');
          process.exit(130);
        }
        return;
      }
      stopping = true;
      console.log(
        `grok-sip: ${signal}: draining ${app.activeCalls()} call(s), up to ${config.shutdown.drainTimeoutSec} s`,
      );
      void app
        .drain(config.shutdown.drainTimeoutSec * 1000)
        .then(() => observability.close())
        .then(
          () => {
            console.log('grok-sip: stopped');
            resolve(0);
          },
          (err: unknown) => {
            console.error(`grok-sip: drain failed: ${err instanceof Error ? err.message : String(err)}`);
            resolve(1);
          },
        );
    };
    process.on('SIGHUP', () => reloadTls(app));
    process.on('SIGTERM', () => drain('SIGTERM'));
    process.on('SIGINT', () => drain('SIGINT'));
  });
}

/** SIGHUP: renewed certificates for new TLS handshakes; a bad file keeps the old ones (logged). */
function reloadTls(app: GrokSipApp): void {
  if (app.backend.reloadTls === undefined) {
    console.log('grok-sip: SIGHUP: this backend has no TLS listeners of its own; nothing to reload');
    return;
  }
  try {
    const certificates = app.backend.reloadTls();
    logger.info({ certificates }, 'TLS certificates reloaded');
    const shown = certificates.map((c) => `${c.subject} (sha256 ${c.fingerprint256}, until ${c.validTo})`);
    console.log(`grok-sip: SIGHUP: TLS certificates reloaded: ${shown.join('; ') || 'no TLS listeners'}`);
  } catch (err) {
    const reason = err instanceof Error ? err.message : String(err);
    logger.error({ reason }, 'TLS reload failed; the previous certificates stay in use');
    console.error(`grok-sip: SIGHUP: TLS reload failed, previous certificates stay: ${reason}`);
  }
}
