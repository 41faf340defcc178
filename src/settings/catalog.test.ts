/** The settings catalog: Harbor's refusals of a PUT's values, and stored JSON text read back as each key's type. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isDomainError } from '../domain/index.ts';
import { parseSettingInput, settingsCatalog, settingSpec, storedSetting } from './catalog.ts';

test('writable keys take values of their type, checked', () => {
  assert.equal(parseSettingInput('read_only', true), true);
  assert.equal(parseSettingInput('storage_per_project', -1), -1);
  assert.equal(parseSettingInput('storage_per_project', 1024), 1024);
  assert.equal(parseSettingInput('robot_name_prefix', '  bot$ '), 'bot$');
  assert.equal(parseSettingInput('project_creation_restriction', 'adminonly'), 'adminonly');
  assert.equal(parseSettingInput('banner_message', ''), '');
  assert.equal(parseSettingInput('auth_mode', 'ldap_auth'), 'ldap_auth');
  assert.equal(parseSettingInput('ldap_search_password', 'secret'), 'secret');
  assert.equal(parseSettingInput('ldap_group_search_scope', 0), 0);
});

test('unknown, read-only and badly typed values are refused with Harbor’s messages', () => {
  for (const [key, value, message] of [
    ['nope', 1, /^invalid config, item not defined in metadatalist, nope$/],
    ['oidc_name', 'x', /^system config items cannot be updated, item: oidc_name/],
    ['auth_mode', 'oidc_auth', /^item name auth_mode: invalid auth_mode/],
    ['ldap_scope', 3, /invalid scope, should be 0, 1 or 2/],
    ['ldap_url', ' ', /the configure value can not be empty/],
    ['constructor', 1, /not defined in metadatalist, constructor/],
    ['read_only', 'true', /^item name read_only: the value must be true or false$/],
    ['storage_per_project', 1.5, /^item name storage_per_project: the value must be an integer$/],
    ['storage_per_project', 0, /quota value should be -1 or great than zero/],
    ['storage_per_project', -2, /quota value should be -1 or great than zero/],
    ['project_creation_restriction', 'admins', /should be adminonly or everyone/],
    ['robot_name_prefix', ' ', /^robot_name_prefix cannot be empty or contain only spaces$/],
    ['robot_name_prefix', 'a b$', /without spaces/],
    ['banner_message', 3, /must be a string/],
  ] as const) {
    assert.throws(() => parseSettingInput(key, value), (e) => isDomainError(e, 'BAD_REQUEST') && message.test(e.message), `${key}=${String(value)}`);
  }
});

test('stored text reads back as the key’s type; what does not parse is the default', () => {
  const bool = settingsCatalog.notification_enable;
  assert.equal(storedSetting(bool, undefined), true);
  for (const v of ['false', '"false"', '0', ' false ']) assert.equal(storedSetting(bool, v), false, v);
  for (const v of ['true', '"true"', '1']) assert.equal(storedSetting(bool, v), true, v);
  assert.equal(storedSetting(bool, '{}'), true);
  const int = settingsCatalog.storage_per_project;
  assert.equal(storedSetting(int, '5000'), 5000);
  assert.equal(storedSetting(int, '"42"'), 42);
  assert.equal(storedSetting(int, 'x'), -1);
  const str = settingsCatalog.robot_name_prefix;
  assert.equal(storedSetting(str, '"svc$"'), 'svc$');
  assert.equal(storedSetting(str, '7'), 'robot$');
  assert.equal(settingSpec('toString'), undefined);
});
