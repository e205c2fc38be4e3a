// Errors we go on after are counted per place and exposed, never silent; rejected inputs too.
import t from 'tap';
import { ignore, ignoredErrors } from '../../src/observability/ignored-errors.js';
import { GrokSipMetrics } from '../../src/observability/metrics.js';
import { rejectedInputs } from '../../src/observability/rejected-input.js';
import { sample } from './prometheus-text.js';

t.test('ignore(where) counts each failure under its place; /metrics shows it', async (t) => {
  const metrics = new GrokSipMetrics({ processMetrics: false });
  await Promise.reject(new Error('a 180 that could not be sent')).catch(ignore('test.send-180'));
  await Promise.reject(new Error('again')).catch(ignore('test.send-180'));
  await Promise.reject(new Error('other')).catch(ignore('test.send-bye'));
  t.equal(ignoredErrors.count('test.send-180'), 2);
  rejectedInputs.reject('sip', 'udp:192.0.2.1', 'bad start line');
  const text = await metrics.metrics();
  t.equal(sample(text, 'grok_sip_ignored_errors_total{where="test.send-180"}'), 2);
  t.equal(sample(text, 'grok_sip_ignored_errors_total{where="test.send-bye"}'), 1);
  t.ok((sample(text, 'grok_sip_rejected_input_total{kind="sip"}') ?? 0) >= 1, 'rejected inputs exposed');
});
