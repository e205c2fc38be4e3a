// `grok-sip call`: not wired yet — the SIP transport/UAS (issue 4) and the call bridge (issue 5) that
// it needs are still being built. It says so plainly instead of failing obscurely.
export async function run(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log('usage: grok-sip call … (not available yet: waits for the SIP endpoint and the call bridge)');
    return 0;
  }
  console.error('grok-sip call: not available yet in this build (SIP endpoint and call bridge in progress)');
  return 1;
}
