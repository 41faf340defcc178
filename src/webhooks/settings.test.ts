/** The one reading of `notification_enable`: what the dispatcher, /configurations and /systeminfo all see. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { notificationEnableFrom } from './settings.ts';

test('no row, JSON true and anything not saying false mean on', () => {
  for (const v of [undefined, 'true', '1', '"true"', 'null', '{}', 'yes', '']) assert.equal(notificationEnableFrom(v), true, String(v));
});

test('JSON false, the JSON string "false", 0 and bare false text mean off', () => {
  for (const v of ['false', ' false ', '"false"', '0', 'false\n']) assert.equal(notificationEnableFrom(v), false, v);
});
