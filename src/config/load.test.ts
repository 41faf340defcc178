import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadConfig, ConfigError, configSchema } from './index.ts';

test('defaults derive paths and external_url from other keys', () => {
  const c = loadConfig({ env: {}, file: null, overrides: { data_dir: '/tmp/wharf-x', port: 5123 } });
  assert.equal(c.database.path, '/tmp/wharf-x/wharf.db');
  assert.equal(c.storage.root, '/tmp/wharf-x/storage');
  assert.equal(c.external_url, 'http://localhost:5123');
  assert.deepEqual(c.webhooks.retry_schedule, [0, 10, 60, 300, 1800, 7200, 21600, 43200]);
  assert.equal(c.webhooks.allow_private_targets, false, 'private webhook targets: system admins and the allow-list only');
});

test('WHARF_* variables override the YAML file, nested keys use __', () => {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cfg-'));
  const file = join(dir, 'wharf.yaml');
  writeFileSync(file, 'port: 6000\nexternal_url: https://a.example.com/\nwebhooks:\n  timeout_ms: 1000\n');
  const c = loadConfig({
    env: { WHARF_PORT: '7000', WHARF_WEBHOOKS__RETRY_SCHEDULE: '0, 5, 30', WHARF_WEBHOOKS__ALLOW_PRIVATE_TARGETS: 'true' },
    file,
  });
  assert.equal(c.port, 7000);
  assert.equal(c.external_url, 'https://a.example.com');
  assert.equal(c.webhooks.timeout_ms, 1000);
  assert.deepEqual(c.webhooks.retry_schedule, [0, 5, 30]);
  assert.equal(c.webhooks.allow_private_targets, true);
});

test('every problem is reported at once, naming the key and its variable', () => {
  try {
    loadConfig({ env: { WHARF_PORT: 'abc', WHARF_EXTERNAL_URL: 'not a url', WHARF_ADMIN_PASSWORD: 'short', WHARF_BOGUS: '1' }, file: null });
    assert.fail('expected a ConfigError');
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const text = err.problems.join('\n');
    assert.match(text, /port \(WHARF_PORT\)/);
    assert.match(text, /external_url \(WHARF_EXTERNAL_URL\)/);
    assert.match(text, /admin_password \(WHARF_ADMIN_PASSWORD\)/);
    assert.match(text, /bogus/);
    assert.ok(err.problems.length >= 4);
  }
});

test('a named config file that does not exist is an error; bad YAML too', () => {
  assert.throws(() => loadConfig({ env: { WHARF_CONFIG: '/nonexistent/wharf.yaml' } }), /no such file/);
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cfg-'));
  const file = join(dir, 'bad.yaml');
  writeFileSync(file, 'port: [1,\n');
  assert.throws(() => loadConfig({ env: {}, file }), ConfigError);
});

test('docs/config.md documents every key of the schema', () => {
  const doc = readFileSync(new URL('../../docs/config.md', import.meta.url), 'utf8');
  const keys: string[] = [];
  for (const [k, v] of Object.entries(configSchema.shape)) {
    const inner = (v as { def?: { innerType?: { shape?: Record<string, unknown> } } }).def?.innerType?.shape;
    if (inner) for (const sub of Object.keys(inner)) keys.push(`${k}.${sub}`);
    else keys.push(k);
  }
  for (const key of keys) assert.ok(doc.includes(`\`${key}\``), `docs/config.md lacks ${key}`);
});

test('storage.s3 comes from WHARF_STORAGE__S3__* variables; its mistakes are named', () => {
  const c = loadConfig({
    env: { WHARF_STORAGE__DRIVER: 's3', WHARF_STORAGE__S3__ENDPOINT: 'http://127.0.0.1:7480', WHARF_STORAGE__S3__BUCKET: 'wharf', WHARF_STORAGE__S3__FORCE_PATH_STYLE: 'true', WHARF_STORAGE__REDIRECT: '1' },
    file: null,
  });
  assert.equal(c.storage.driver, 's3');
  assert.deepEqual(c.storage.s3, { endpoint: 'http://127.0.0.1:7480', region: 'us-east-1', bucket: 'wharf', force_path_style: true, prefix: '' });
  assert.equal(c.storage.redirect, true);
  assert.equal(c.storage.redirect_expiry_seconds, 1200);
  assert.equal(loadConfig({ env: {}, file: null }).storage.redirect, false, 'redirects are off by default');

  const problems = (env: NodeJS.ProcessEnv): string => {
    try {
      loadConfig({ env, file: null });
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      return err.problems.join('\n');
    }
    return assert.fail('expected a ConfigError');
  };
  assert.match(problems({ WHARF_STORAGE__DRIVER: 's3' }), /storage\.s3\.bucket \(WHARF_STORAGE__S3__BUCKET\): required when storage\.driver is s3/);
  assert.match(problems({ WHARF_STORAGE__DRIVER: 's3', WHARF_STORAGE__S3__BUCKET: 'wharf', WHARF_STORAGE__S3__ACCESS_KEY: 'k' }), /storage\.s3\.secret_key \(WHARF_STORAGE__S3__SECRET_KEY\): access_key and secret_key go together/);
  assert.match(problems({ WHARF_STORAGE__DRIVER: 's3', WHARF_STORAGE__S3__BUCKET: 'No_Such' }), /storage\.s3\.bucket .*must be a bucket name/);
  assert.match(problems({ WHARF_STORAGE__REDIRECT: 'true' }), /storage\.redirect \(WHARF_STORAGE__REDIRECT\): redirects need storage\.driver s3/);
  assert.match(problems({ WHARF_STORAGE__DRIVER: 'gcs' }), /storage\.driver \(WHARF_STORAGE__DRIVER\)/);
});
