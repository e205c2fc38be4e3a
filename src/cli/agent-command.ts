// `grok-sip agent`: the built-in local agent alone, until SIGINT/SIGTERM.
import { localAgentUsage, runLocalAgentCli } from '../realtime/local-agent-cli.js';

export async function run(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(localAgentUsage.replace('local-agent', 'grok-sip agent'));
    return 0;
  }
  const agent = await runLocalAgentCli(argv);
  await new Promise<void>((resolve) => {
    const stop = (): void => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await agent.close();
  return 0;
}
