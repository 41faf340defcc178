/**
 * End-to-end: what skopeo pushed to a `wharf serve` child process is still there after a clean
 * stop (SIGTERM, exit 0) and after kill -9, on the same data folder.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { spawnWharf, tempDataDir, type SpawnedWharf } from '../helpers/wharf.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { OciLayout, readLayoutIndex, sha256, writeMultiLayerImage, writeSingleLayerImage, type BuiltImage } from '../helpers/oci-layout.ts';

const skip = skipWithoutSkopeo();

test('e2e: restart keeps data', { skip, timeout: 300_000 }, async (t) => {
  requireSkopeo();
  const dataDir = tempDataDir('wharf-restart-');
  const src = OciLayout.create();
  let server: SpawnedWharf | undefined;
  t.after(async () => {
    if (server && server.proc.exitCode === null && server.proc.signalCode === null) await server.kill9();
    src.remove();
    rmSync(dataDir, { recursive: true, force: true });
  });

  const images = new Map<string, BuiltImage>();
  const pushTo = async (s: SpawnedWharf, tag: string) => {
    const img = images.get(tag);
    assert.ok(img);
    await skopeoOk(['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref(tag), `docker://${s.host}/library/restart:${tag}`]);
  };
  /** Every image pushed so far is served with its original digest, and one pulls back intact. */
  const assertAllThere = async (s: SpawnedWharf, when: string) => {
    for (const [tag, img] of images) {
      const raw = await skopeoOk(['inspect', '--raw', '--tls-verify=false', '--creds', adminCreds, `docker://${s.host}/library/restart:${tag}`]);
      assert.equal(sha256(raw), img.manifest.digest, `${when}: restart:${tag} has its original digest`);
    }
    const out = OciLayout.create();
    try {
      const [tag, img] = [...images][0] ?? [];
      assert.ok(tag && img);
      // skopeo verifies every blob's digest while copying, so this also checks the layer files.
      await skopeoOk(['copy', '--quiet', '--src-tls-verify=false', '--src-creds', adminCreds, `docker://${s.host}/library/restart:${tag}`, out.ref(tag)]);
      assert.equal(readLayoutIndex(out.dir)[0]?.digest, img.manifest.digest, `${when}: pulled restart:${tag}`);
    } finally {
      out.remove();
    }
  };

  images.set('small', await writeSingleLayerImage(src, 'small'));
  images.set('layers', await writeMultiLayerImage(src, 'layers', { totalMiB: 4, layers: 2 }));

  server = await spawnWharf({ dataDir });
  await pushTo(server, 'small');
  await pushTo(server, 'layers');
  await assertAllThere(server, 'before any restart');

  const code = await server.stop();
  assert.equal(code, 0, `SIGTERM must end wharf with exit code 0; output:\n${server.output()}`);

  server = await spawnWharf({ dataDir });
  await assertAllThere(server, 'after SIGTERM and restart');
  // A push acknowledged just before the crash must survive it too.
  images.set('late', await writeSingleLayerImage(src, 'late'));
  await pushTo(server, 'late');

  await server.kill9();
  assert.equal(server.proc.signalCode, 'SIGKILL');

  server = await spawnWharf({ dataDir });
  await assertAllThere(server, 'after kill -9 and restart');
  const listed: unknown = JSON.parse(await skopeoOk(['list-tags', '--tls-verify=false', '--no-creds', `docker://${server.host}/library/restart`]));
  assert.ok(typeof listed === 'object' && listed !== null);
  assert.deepEqual(Reflect.get(listed, 'Tags'), ['late', 'layers', 'small']);

  assert.equal(await server.stop(), 0, `final SIGTERM: exit code 0; output:\n${server.output()}`);
});
