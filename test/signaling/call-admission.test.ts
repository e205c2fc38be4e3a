// The one admission check both backends use: maxCalls slots, each released exactly once.
import t from 'tap';
import { CallAdmission } from '../../src/signaling/call-admission.js';

t.test('slots up to maxCalls, then full; a release gives one back, once', async (t) => {
  const admission = new CallAdmission(2, 7);
  const a = admission.admit();
  const b = admission.admit();
  t.ok(a && b, 'two calls admitted');
  t.equal(admission.admit(), null, 'the third is refused');
  t.ok(admission.full);
  t.same(admission.refusal, { status: 503, reason: 'Service Unavailable', retryAfter: '7' });
  a!();
  a!();
  t.equal(admission.active, 1, 'a double release gives back one slot only');
  t.ok(admission.admit(), 'the freed slot is taken again');
  t.throws(() => new CallAdmission(0, 5), RangeError);
});
