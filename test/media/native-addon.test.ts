import t from 'tap';
import { native } from '../../src/media/native-addon.js';

t.test('the native media core loads', async (t) => {
  t.equal(native.abiVersion, 1);
});
