/**
 * The replication copy engine (src/replication/copy.ts) between real registries: two running
 * Wharfs (a LocalSide over each one's registry) and Debian's CNCF registry with Basic auth
 * (a RemoteSide over HTTP). Covered: an image Wharf → Wharf byte for byte, read without a pull
 * (no PULL_ARTIFACT at the source) and written as a push (PUSH_ARTIFACT at the destination); a
 * two-platform index Wharf → CNCF → Wharf with the same digests everywhere, pushed in chunks;
 * mounts between two CNCF repositories; a stop during a throttled upload leaving no manifest; a
 * child manifest missing at the source; a source blob re-opened after it broke off; retries of an
 * unreachable source, then a transient failure.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { pino } from 'pino';
import { adminAuth, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { api, explain } from '../helpers/webhook-client.ts';
import { startCncf, skipWithoutCncf, cncfUser, cncfSecret, type CncfRegistry } from '../helpers/cncf-registry.ts';
import { OciLayout, writeMultiLayerImage, writePlatformIndex, writeSingleLayerImage, mediaTypes, type BuiltImage, type BuiltIndex } from '../helpers/oci-layout.ts';
import { Outbox } from '../../src/events/index.ts';
import { Authorizer, type Actor } from '../../src/auth/index.ts';
import { Metrics } from '../../src/observability/index.ts';
import { createBlobStore } from '../../src/storage/index.ts';
import { RegistryService } from '../../src/registry/index.ts';
import { parseDigest, parseReference, parseRepoName } from '../../src/domain/index.ts';
import { copyArtifact, deleteArtifact, LocalSide, RemoteSide, SideError, type CopyOptions, type ReplicationSide } from '../../src/replication/index.ts';

const jobActor: Actor = { kind: 'system', username: 'harbor-jobservice', userId: null, sysadmin: true };
const ctx = { actor: jobActor };

/** A running Wharf with its own Registry port instance (same database and storage). */
interface Node {
  w: TestWharf;
  registry: RegistryService;
  side: LocalSide;
}

async function node(): Promise<Node> {
  const w = await startWharf();
  const registry = new RegistryService({
    db: w.wharf.db.kysely,
    blobs: await createBlobStore(w.wharf.config.storage),
    outbox: new Outbox(),
    authorizer: new Authorizer(),
    config: w.wharf.config,
    metrics: new Metrics(false),
    logger: pino({ level: 'silent' }),
  });
  const ensureProject = async (name: string): Promise<void> => {
    const a = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: name, metadata: { public: 'false' } } });
    assert.ok(a.status === 201 || a.status === 409, explain('POST', '/api/v2.0/projects', a));
  };
  return { w, registry, side: new LocalSide({ registry, actor: jobActor, endpoint: w.url, ensureProject }) };
}

let a: Node;
let b: Node;
let layout: OciLayout;
let img: BuiltImage;
let multi: BuiltIndex;
const signal = new AbortController().signal;

function logger(): { log: CopyOptions['log']; text(): string } {
  const lines: string[] = [];
  return { log: (line, level = 'INFO') => void lines.push(`${level} ${line}`), text: () => lines.join('\n') };
}

function copy(o: Partial<CopyOptions> & Pick<CopyOptions, 'src' | 'srcRepo' | 'dst' | 'dstRepo' | 'ref' | 'tags'>): Promise<Awaited<ReturnType<typeof copyArtifact>>> {
  return copyArtifact({ override: false, speedKBs: 0, signal, log: logger().log, retry: { attempts: 2, baseDelayMs: 20 }, ...o });
}

async function pushImage(n: Node, repo: string, image: BuiltImage, ref: string): Promise<void> {
  const name = parseRepoName(repo);
  for (const blob of [image.config, ...image.layers]) {
    const u = await n.registry.startUpload(ctx, name);
    await n.registry.completeUpload(ctx, name, u.id, parseDigest(blob.digest), createReadStream(layout.blobPath(blob.digest)));
  }
  await n.registry.putManifest(ctx, name, parseReference(ref), mediaTypes.manifest, image.manifestBody);
}

async function eventCount(n: Node, type: string, repository: string): Promise<number> {
  const rows = await n.w.wharf.db.kysely.selectFrom('events').select(['data']).where('type', '=', type).execute();
  return rows.filter((r) => (JSON.parse(r.data) as { repository?: { name?: string } }).repository?.name === repository).length;
}

async function digestAt(side: ReplicationSide, repo: string, ref: string): Promise<string | null> {
  return (await side.headManifest(repo, ref, signal))?.digest ?? null;
}

before(async () => {
  [a, b] = await Promise.all([node(), node()]);
  layout = OciLayout.create();
  img = await writeSingleLayerImage(layout, 'v1');
  multi = await writePlatformIndex(layout, 'multi');
  await pushImage(a, 'library/app', img, 'v1');
  for (const c of multi.children) await pushImage(a, 'library/multi', c, c.manifest.digest);
  await a.registry.putManifest(ctx, parseRepoName('library/multi'), parseReference('1.0'), mediaTypes.index, multi.indexBody);
});

after(async () => {
  for (const n of [a, b]) {
    if (!n) continue;
    await n.registry.close();
    await n.w.close();
  }
  layout?.remove();
});

describe('replication copy between two Wharfs', () => {
  it('copies an image byte for byte: a read at the source, a push at the destination', async () => {
    const l = logger();
    const r = await copy({ src: a.side, srcRepo: 'library/app', dst: b.side, dstRepo: 'mirror/app', ref: 'v1', tags: ['v1'], log: l.log });
    assert.equal(r.status, 'copied', l.text());
    assert.equal(r.blobsCopied, 2);
    const got = await api(b.w.url, 'GET', '/v2/mirror/app/manifests/v1', { auth: adminAuth, headers: { accept: mediaTypes.manifest } });
    assert.equal(got.status, 200, explain('GET', 'manifest', got));
    assert.equal(got.text, img.manifestBody.toString());
    assert.equal(await eventCount(a, 'PULL_ARTIFACT', 'library/app'), 0, 'a replication read is not a pull');
    assert.equal(await eventCount(b, 'PUSH_ARTIFACT', 'mirror/app'), 1);
    // The destination project was created private.
    const p = await api(b.w.url, 'GET', '/api/v2.0/projects/mirror', { auth: adminAuth });
    assert.equal((p.json as { metadata?: { public?: string } }).metadata?.public, 'false', p.text);
  });

  it('deletes by tag at the destination', async () => {
    const l = logger();
    assert.equal(await deleteArtifact({ dst: b.side, dstRepo: 'mirror/app', ref: 'v1', signal, log: l.log }), true);
    assert.equal(await digestAt(b.side, 'mirror/app', img.manifest.digest), null);
    assert.equal(await deleteArtifact({ dst: b.side, dstRepo: 'mirror/app', ref: 'v1', signal, log: l.log }), false);
  });
});

describe('replication copy through a CNCF registry', { skip: skipWithoutCncf }, () => {
  let cncf: CncfRegistry;
  let remote: RemoteSide;
  before(async () => {
    cncf = await startCncf({ auth: true });
    remote = new RemoteSide({ access: { type: 'docker-registry', url: cncf.url, accessKey: cncfUser, accessSecret: cncfSecret, insecure: false, caCertificate: null }, label: 'cncf' });
  });
  after(async () => {
    await remote?.close();
    await cncf?.remove();
  });

  it('copies a two-platform index Wharf → CNCF (in chunks) → Wharf with the same digests', async () => {
    const l = logger();
    const up = await copy({ src: a.side, srcRepo: 'library/multi', dst: remote, dstRepo: 'mirror/multi', ref: '1.0', tags: ['1.0'], chunkSize: 100, log: l.log });
    assert.equal(up.status, 'copied', l.text());
    assert.equal(await digestAt(remote, 'mirror/multi', '1.0'), multi.index.digest);
    for (const c of multi.children) assert.equal(await digestAt(remote, 'mirror/multi', c.manifest.digest), c.manifest.digest);
    const down = await copy({ src: remote, srcRepo: 'mirror/multi', dst: b.side, dstRepo: 'pulled/multi', ref: '1.0', tags: ['1.0'] });
    assert.equal(down.status, 'copied');
    assert.equal(down.blobsCopied, 4);
    assert.equal(await digestAt(b.side, 'pulled/multi', '1.0'), multi.index.digest);
    for (const c of multi.children) assert.equal(await digestAt(b.side, 'pulled/multi', c.manifest.digest), c.manifest.digest);
    const again = await copy({ src: remote, srcRepo: 'mirror/multi', dst: b.side, dstRepo: 'pulled/multi', ref: '1.0', tags: ['1.0'] });
    assert.equal(again.status, 'exists');
  });

  it('mounts blobs between repositories of the destination', async () => {
    const mountFrom = new Map<string, string>();
    await copy({ src: a.side, srcRepo: 'library/app', dst: remote, dstRepo: 'mirror/one', ref: 'v1', tags: ['v1'], mountFrom });
    const l = logger();
    const r = await copy({ src: a.side, srcRepo: 'library/app', dst: remote, dstRepo: 'mirror/two', ref: 'v1', tags: ['v1'], mountFrom, log: l.log });
    assert.equal(r.bytes, 0, l.text());
    assert.match(l.text(), /mounted from mirror\/one/);
    assert.equal(await digestAt(remote, 'mirror/two', 'v1'), img.manifest.digest);
  });

  it('stops during a throttled upload: no manifest at the destination', async () => {
    const big = await writeMultiLayerImage(layout, 'big', { totalMiB: 1, layers: 1 });
    await pushImage(a, 'library/big', big, 'v1');
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    await assert.rejects(copy({ src: a.side, srcRepo: 'library/big', dst: remote, dstRepo: 'mirror/big', ref: 'v1', tags: ['v1'], speedKBs: 128, signal: ac.signal }), { name: 'AbortError' });
    assert.equal(await digestAt(remote, 'mirror/big', 'v1'), null);
    assert.equal(await remote.hasBlob('mirror/big', big.layers[0]?.digest ?? '', signal), false);
  });

  it('fails clearly when a child manifest is missing at the source', async () => {
    await copy({ src: a.side, srcRepo: 'library/multi', dst: remote, dstRepo: 'broken/multi', ref: '1.0', tags: ['1.0'] });
    const child = multi.children[1]?.manifest.digest ?? '';
    assert.equal(await remote.deleteManifest('broken/multi', child, signal), true);
    await assert.rejects(copy({ src: remote, srcRepo: 'broken/multi', dst: b.side, dstRepo: 'broken/multi', ref: '1.0', tags: ['1.0'] }), (err: unknown) => {
      assert.ok(err instanceof SideError, String(err));
      assert.equal(err.transient, false);
      assert.match(err.message, new RegExp(`manifest ${child} of the index ${multi.index.digest} is missing at the source`));
      return true;
    });
    assert.equal(await digestAt(b.side, 'broken/multi', '1.0'), null);
  });

  it('re-opens a source blob that broke off in the middle, and completes', async () => {
    const big = await writeMultiLayerImage(layout, 'resume', { totalMiB: 1, layers: 1 });
    await pushImage(a, 'library/resume', big, 'v1');
    await copy({ src: a.side, srcRepo: 'library/resume', dst: remote, dstRepo: 'mirror/resume', ref: 'v1', tags: ['v1'] });
    const l = logger();
    // About 2 s for the layer at 512 KB/s; the registry dies 0.6 s into it and comes back at once.
    // Counted from the config blob's end (the layer comes next), not from the start: on a loaded
    // machine the manifest and config reads alone can take longer than 0.6 s.
    const copying = copy({ src: remote, srcRepo: 'mirror/resume', dst: b.side, dstRepo: 'pulled/resume', ref: 'v1', tags: ['v1'], speedKBs: 512, retry: { attempts: 4, baseDelayMs: 500 }, log: l.log });
    const configDone = Date.now() + 30_000;
    while (!l.text().includes(`blob ${big.config.digest} `) && Date.now() < configDone) await new Promise((r) => setTimeout(r, 10));
    await new Promise((r) => setTimeout(r, 600));
    await cncf.stop();
    await cncf.restart();
    const r = await copying;
    assert.equal(r.status, 'copied', l.text());
    assert.match(l.text(), new RegExp(`WARNING copy blob ${big.layers[0]?.digest} failed: .*retrying in 500 ms`), l.text());
    assert.equal(await digestAt(b.side, 'pulled/resume', 'v1'), big.manifest.digest);
    assert.equal(await b.side.hasBlob('pulled/resume', big.layers[0]?.digest ?? '', signal), true);
  });

  it('retries an unreachable source, then fails as transient', async () => {
    await cncf.stop();
    try {
      const l = logger();
      await assert.rejects(copy({ src: remote, srcRepo: 'mirror/multi', dst: b.side, dstRepo: 'pulled/again', ref: '1.0', tags: ['1.0'], retry: { attempts: 3, baseDelayMs: 20 }, log: l.log }), (err: unknown) => {
        assert.ok(err instanceof SideError, String(err));
        assert.equal(err.transient, true);
        return true;
      });
      assert.equal(l.text().match(/retrying in/g)?.length, 2, l.text());
    } finally {
      await cncf.restart();
    }
  });
});
