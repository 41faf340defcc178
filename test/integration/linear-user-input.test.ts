/**
 * Issue 8, item 1, the same class elsewhere: user input that reached a backtracking RegExp with
 * quadratic cost. Each case feeds the input that made the old expression backtrack, at a size
 * where quadratic means minutes to hours, and runs it where a freeze cannot stall this test
 * process: a child Wharf over real HTTP, or a child node process. Each check ends by its
 * `timeout` option (or the child's) instead of hanging when the cost comes back; none measures
 * speed (the linear forms take milliseconds).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { adminAuth, spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { api, explain } from '../helpers/webhook-client.ts';

/**
 * Runs `body` (ESM, top-level await allowed, `root` = the repository folder as a file URL) in a
 * child node with tsx, killed after `timeoutMs`; returns its stdout, or fails with why it ended.
 */
function runInChild(body: string, timeoutMs: number): string {
  const root = new URL('../../', import.meta.url).href;
  const r = spawnSync(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', `const root = ${JSON.stringify(root)};\n${body}`], {
    cwd: fileURLToPath(root),
    encoding: 'utf8',
    timeout: timeoutMs,
  });
  assert.equal(r.signal, null, `the child was killed (${r.signal}) after ${timeoutMs} ms: the input was not handled in linear time`);
  assert.equal(r.status, 0, `child failed:\n${r.stderr}`);
  return r.stdout.trim();
}

describe('user input never meets a superlinear RegExp', () => {
  it('a token scope of a million "(" (was /\\(.*\\)$/)', { timeout: 60_000 }, () => {
    const out = runInChild(
      `const { parseScope } = await import(root + 'src/auth/tokens.ts');
       const scope = '('.repeat(1_000_000) + ':p1/app:pull';
       console.log(parseScope(scope).type === '('.repeat(1_000_000) ? 'type kept' : 'type changed');
       console.log(JSON.stringify(parseScope('repository(plugin):p1/app:pull')));`,
      45_000,
    );
    const [first, second] = out.split('\n');
    assert.equal(first, 'type kept', 'no `(...)` suffix to drop: the type is what was sent');
    assert.deepEqual(JSON.parse(second!), { type: 'repository', name: 'p1/app', actions: ['pull'] }, 'the resource class is still dropped');
  });

  it('an audit q op_time of a million "~" (was /^\\[(.*)~(.*)\\]$/)', { timeout: 60_000 }, () => {
    const out = runInChild(
      `const { parseQuery, resolveFilters } = await import(root + 'src/domain/index.ts');
       const { auditListSpec } = await import(root + 'src/audit/index.ts');
       const audit = (q) => resolveFilters(parseQuery(q), auditListSpec);
       try { audit('op_time=[' + '~'.repeat(1_000_000)); console.log('accepted'); } catch (e) { console.log(e.code ?? e.message); }
       const [f] = audit('op_time=[2025-01-02 03:04:05~2025-01-03 00:00:00]');
       console.log(JSON.stringify([f.condition.min, f.condition.max]));
       for (const bad of ['[a~b', 'a~b]', '[ab]', '[~]x']) { try { audit('op_time=' + bad); console.log('accepted ' + bad); } catch (e) { console.log(e.code); } }`,
      45_000,
    );
    const lines = out.split('\n');
    assert.equal(lines[0], 'BAD_REQUEST', 'no closing ] is refused');
    const [from, to] = JSON.parse(lines[1]!) as [number, number];
    assert.ok(to > from, 'a real range still parses');
    assert.deepEqual(lines.slice(2), ['BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST', 'BAD_REQUEST']);
  });

  describe('over real HTTP', () => {
    const dataDir = tempDataDir('wharf-linear-');
    let w: SpawnedWharf | undefined;
    before(async () => {
      w = await spawnWharf({ dataDir });
    });
    after(async () => {
      await w?.kill9();
      rmSync(dataDir, { recursive: true, force: true });
    });

    it('a webhook target address of a million "/" (was /\\/+$/): answered, and /v2 keeps answering', { timeout: 60_000 }, async () => {
      assert.ok(w);
      const address = `http://example.com${'/'.repeat(1_000_000)}x`;
      const path = '/api/v2.0/projects/library/webhook/policies';
      const body = { name: 'slashes', enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [{ type: 'http', address }] };
      const a = await api(w.url, 'POST', path, { auth: adminAuth, body });
      assert.ok(a.status === 201 || a.status === 400, explain('POST', path, a));
      const v2 = await api(w.url, 'GET', '/v2/', { auth: adminAuth });
      assert.equal(v2.status, 200, explain('GET', '/v2/', v2));
    });
  });
});
