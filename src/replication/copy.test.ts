/**
 * The copy engine (./copy.ts) over real local sides (./local-side.ts): one in-process registry
 * (a real database and blob folder) whose projects stand for the source and the destination.
 * Covered: an image and a two-platform index (children first, same digests), exists, override
 * off and on, blob skips on a rerun, mounts from the run's map, foreign layers, a stop in the
 * middle of a blob, a refusing destination (no retries), deletion by tag, and the side's own
 * "not there" answers. test/integration/replication-copy.test.ts does the same between servers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { createReadStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { pino } from 'pino';
import { openTestDatabase } from '../../test/helpers/db.ts';
import { OciLayout, writeMultiLayerImage, writePlatformIndex, writeSingleLayerImage, sha256, mediaTypes, type BuiltImage } from '../../test/helpers/oci-layout.ts';
import { loadConfig } from '../config/index.ts';
import { Outbox } from '../events/index.ts';
import { Authorizer, anonymous, type Actor } from '../auth/index.ts';
import { Metrics } from '../observability/index.ts';
import { FsBlobStore } from '../storage/index.ts';
import { RegistryService } from '../registry/index.ts';
import type { Db } from '../db/index.ts';
import { parseDigest, parseReference, parseRepoName } from '../domain/index.ts';
import { LocalSide } from './local-side.ts';
import { copyArtifact, deleteArtifact, type CopyLogLevel, type CopyOptions } from './copy.ts';
import { SideError } from './side.ts';

const jobActor: Actor = { kind: 'system', username: 'harbor-jobservice', userId: null, sysadmin: true };
const ctx = { actor: jobActor };

let dir: string;
let db: Db;
let registry: RegistryService;
let side: LocalSide;
let layout: OciLayout;

/** Creates a private project unless it exists (what the replication's ensureProject does). */
async function ensureProject(name: string): Promise<void> {
  const now = Date.now();
  await db.kysely
    .insertInto('projects')
    .values({ name, public: 0, owner_id: null, storage_limit: -1, metadata: '{}', creation_time: now, update_time: now })
    .onConflict((oc) => oc.column('name').doNothing())
    .execute();
}

function localSide(actor: Actor = jobActor): LocalSide {
  return new LocalSide({ registry, actor, endpoint: 'http://wharf.test', ensureProject });
}

/** Uploads a layout blob into `repo` through the registry port. */
async function pushBlob(repo: string, digest: string): Promise<void> {
  const name = parseRepoName(repo);
  const u = await registry.startUpload(ctx, name);
  await registry.completeUpload(ctx, name, u.id, parseDigest(digest), createReadStream(layout.blobPath(digest)));
}

/** Pushes an image (blobs, then the manifest under `ref`) into `repo`. */
async function pushImage(repo: string, img: BuiltImage, ref: string): Promise<void> {
  await ensureProject(repo.split('/')[0] ?? '');
  for (const b of [img.config, ...img.layers]) await pushBlob(repo, b.digest);
  await registry.putManifest(ctx, parseRepoName(repo), parseReference(ref), mediaTypes.manifest, img.manifestBody);
}

/** A log collector. */
function logger(): { lines: Array<[CopyLogLevel, string]>; log: CopyOptions['log']; text(): string } {
  const lines: Array<[CopyLogLevel, string]> = [];
  return { lines, log: (line, level = 'INFO') => void lines.push([level, line]), text: () => lines.map(([l, s]) => `${l} ${s}`).join('\n') };
}

function opts(o: Partial<CopyOptions> & Pick<CopyOptions, 'srcRepo' | 'dstRepo' | 'ref' | 'tags' | 'log'>): CopyOptions {
  return { src: side, dst: side, override: false, speedKBs: 0, signal: new AbortController().signal, retry: { attempts: 3, baseDelayMs: 10 }, ...o };
}

async function digestAt(repo: string, ref: string): Promise<string | null> {
  return (await side.headManifest(repo, ref, new AbortController().signal))?.digest ?? null;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'wharf-copy-'));
  db = await openTestDatabase();
  const config = loadConfig({ env: {}, file: null, overrides: { data_dir: dir, log_level: 'silent' } });
  registry = new RegistryService({ db: db.kysely, blobs: new FsBlobStore(join(dir, 'storage')), outbox: new Outbox(), authorizer: new Authorizer(), config, metrics: new Metrics(false), logger: pino({ level: 'silent' }) });
  side = localSide();
  layout = OciLayout.create(join(dir, 'layout'));
});

after(async () => {
  await registry.close();
  await db.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('copyArtifact between local repositories', () => {
  let img: BuiltImage;
  before(async () => {
    img = await writeSingleLayerImage(layout, 'v1');
    await pushImage('src/app', img, 'v1');
  });

  it('copies an image byte for byte, creating the destination project', async () => {
    const l = logger();
    const r = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'v1', tags: ['v1'], log: l.log }));
    assert.deepEqual(r, { digest: img.manifest.digest, status: 'copied', blobsCopied: 2, blobsSkipped: 0, bytes: img.config.size + (img.layers[0]?.size ?? 0) });
    const m = await side.getManifest('dst/app', 'v1', new AbortController().signal);
    assert.ok(m);
    assert.equal(m.digest, img.manifest.digest);
    assert.ok(m.body.equals(img.manifestBody));
    assert.match(l.text(), new RegExp(`copying src/app:v1 \\(${img.manifest.digest}\\) to dst/app`));
    assert.match(l.text(), new RegExp(`blob ${img.layers[0]?.digest} \\(\\d+ B\\) copied`));
    assert.match(l.text(), new RegExp(`manifest ${img.manifest.digest} pushed as dst/app:v1`));
    assert.ok(!l.lines.some(([lvl]) => lvl !== 'INFO'), l.text());
  });

  it('reports exists when the destination has the digest', async () => {
    const l = logger();
    const r = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'v1', tags: ['v1'], log: l.log }));
    assert.equal(r.status, 'exists');
    assert.equal(r.blobsCopied + r.blobsSkipped, 0);
  });

  it('skips the blobs already there on another tag, and copies by digest without tags', async () => {
    const l = logger();
    const r = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'v1', tags: ['v1-again'], log: l.log }));
    assert.equal(r.status, 'copied');
    assert.equal(r.blobsSkipped, 2);
    assert.equal(r.blobsCopied, 0);
    assert.equal(r.bytes, 0);
    assert.match(l.text(), /blob sha256:[0-9a-f]{64} exists, skipped/);
    const byDigest = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/bydigest', ref: img.manifest.digest, tags: [], log: logger().log }));
    assert.equal(byDigest.status, 'copied');
    assert.equal(await digestAt('dst/bydigest', img.manifest.digest), img.manifest.digest);
    assert.deepEqual(await side.listTags('dst/bydigest', new AbortController().signal), []);
  });

  it('keeps a destination tag with another digest when override is off, replaces it when on', async () => {
    const other = await writeSingleLayerImage(layout, 'other');
    await pushImage('src/app', other, 'v2');
    const l = logger();
    // dst/app:v1 holds img; copy `other` onto the same tag name.
    const r = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'v2', tags: ['v1'], log: l.log }));
    assert.equal(r.status, 'skipped');
    assert.ok(l.lines.some(([lvl, s]) => lvl === 'WARNING' && s.includes('exists with a different digest') && s.includes('override is off')), l.text());
    assert.equal(await digestAt('dst/app', 'v1'), img.manifest.digest);
    const r2 = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'v2', tags: ['v1'], override: true, log: logger().log }));
    assert.equal(r2.status, 'copied');
    assert.equal(await digestAt('dst/app', 'v1'), other.manifest.digest);
  });

  it('mounts a blob the run already put in another destination repository', async () => {
    const mountFrom = new Map<string, string>();
    const l = logger();
    const first = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/m1', ref: 'v1', tags: ['v1'], mountFrom, log: logger().log }));
    assert.equal(first.blobsCopied, 2);
    assert.equal(mountFrom.get(img.config.digest), 'dst/m1');
    const second = await copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/m2', ref: 'v1', tags: ['v1'], mountFrom, log: l.log }));
    assert.equal(second.blobsCopied, 2);
    assert.equal(second.bytes, 0, 'mounted, not streamed');
    assert.match(l.text(), /blob sha256:[0-9a-f]{64} \(\d+ B\) mounted from dst\/m1/);
    assert.equal(await digestAt('dst/m2', 'v1'), img.manifest.digest);
  });

  it('copies a two-platform index: children first, every digest the same', async () => {
    const built = await writePlatformIndex(layout, 'multi');
    await ensureProject('src');
    for (const c of built.children) await pushImage('src/multi', c, c.manifest.digest);
    await registry.putManifest(ctx, parseRepoName('src/multi'), parseReference('latest'), mediaTypes.index, built.indexBody);
    const l = logger();
    const r = await copyArtifact(opts({ srcRepo: 'src/multi', dstRepo: 'dst/multi', ref: 'latest', tags: ['latest'], log: l.log }));
    assert.equal(r.status, 'copied');
    assert.equal(r.blobsCopied, 4);
    assert.equal(await digestAt('dst/multi', 'latest'), built.index.digest);
    const pushed = l.lines.filter(([, s]) => s.startsWith('manifest ')).map(([, s]) => s);
    assert.deepEqual(pushed, [
      `manifest ${built.children[0]?.manifest.digest} pushed to dst/multi`,
      `manifest ${built.children[1]?.manifest.digest} pushed to dst/multi`,
      `manifest ${built.index.digest} pushed as dst/multi:latest`,
    ]);
    for (const c of built.children) assert.equal(await digestAt('dst/multi', c.manifest.digest), c.manifest.digest);
  });

  it('skips foreign layers', async () => {
    const foreign = { mediaType: 'application/vnd.docker.image.rootfs.foreign.diff.tar.gzip', digest: sha256('not here'), size: 8, urls: ['https://example.invalid/layer'] };
    const config = layout.putBlob(mediaTypes.config, Buffer.from('{"architecture":"amd64","os":"windows","rootfs":{"type":"layers","diff_ids":[]}}'));
    const body = Buffer.from(JSON.stringify({ schemaVersion: 2, mediaType: 'application/vnd.docker.distribution.manifest.v2+json', config: { ...config, mediaType: 'application/vnd.docker.container.image.v1+json' }, layers: [foreign] }));
    await ensureProject('src');
    await pushBlob('src/win', config.digest);
    await registry.putManifest(ctx, parseRepoName('src/win'), parseReference('ltsc'), 'application/vnd.docker.distribution.manifest.v2+json', body);
    const l = logger();
    const r = await copyArtifact(opts({ srcRepo: 'src/win', dstRepo: 'dst/win', ref: 'ltsc', tags: ['ltsc'], log: l.log }));
    assert.equal(r.status, 'copied');
    assert.equal(r.blobsCopied, 1);
    assert.equal(r.blobsSkipped, 1);
    assert.match(l.text(), /is a foreign layer, not copied/);
    assert.equal(await digestAt('dst/win', 'ltsc'), sha256(body));
  });

  it('stops in the middle of a blob, leaving no manifest; a rerun completes', async () => {
    const big = await writeMultiLayerImage(layout, 'big', { totalMiB: 1, layers: 2 });
    await pushImage('src/big', big, 'v1');
    const ac = new AbortController();
    const timer = setTimeout(() => ac.abort(), 400);
    const started = Date.now();
    await assert.rejects(copyArtifact(opts({ srcRepo: 'src/big', dstRepo: 'dst/big', ref: 'v1', tags: ['v1'], speedKBs: 256, signal: ac.signal, log: logger().log })), { name: 'AbortError' });
    clearTimeout(timer);
    assert.ok(Date.now() - started < 1500, 'the stop ends the copy promptly');
    assert.equal(await digestAt('dst/big', 'v1'), null);
    const r = await copyArtifact(opts({ srcRepo: 'src/big', dstRepo: 'dst/big', ref: 'v1', tags: ['v1'], log: logger().log }));
    assert.equal(r.status, 'copied');
    assert.equal(await digestAt('dst/big', 'v1'), big.manifest.digest);
  });

  it('fails at once, without retries, when the destination refuses', async () => {
    const l = logger();
    const refusing = localSide(anonymous);
    await assert.rejects(copyArtifact(opts({ srcRepo: 'src/app', dst: refusing, dstRepo: 'dst/app', ref: 'v1', tags: ['refused'], log: l.log })), (err: unknown) => {
      assert.ok(err instanceof SideError, String(err));
      assert.match(err.message, /authentication required/);
      assert.equal(err.transient, false);
      return true;
    });
    assert.ok(!/retrying/.test(l.text()), l.text());
  });

  it('fails when the source reference is unknown', async () => {
    await assert.rejects(copyArtifact(opts({ srcRepo: 'src/app', dstRepo: 'dst/app', ref: 'nope', tags: ['nope'], log: logger().log })), /src\/app:nope was not found at the source/);
  });

  it('deletes by tag: the digest goes with every tag on it', async () => {
    const signal = new AbortController().signal;
    // dst/app: v1 now holds `other`; tag it twice.
    const digest = await digestAt('dst/app', 'v1');
    assert.ok(digest);
    await registry.createTag(ctx, parseRepoName('dst/app'), parseDigest(digest), 'twin');
    const l = logger();
    assert.equal(await deleteArtifact({ dst: side, dstRepo: 'dst/app', ref: 'twin', signal, log: l.log }), true);
    assert.equal(await digestAt('dst/app', 'v1'), null);
    assert.equal(await digestAt('dst/app', digest), null);
    assert.equal(await deleteArtifact({ dst: side, dstRepo: 'dst/app', ref: 'twin', signal, log: l.log }), false);
    assert.match(l.text(), /nothing to delete/);
  });
});

describe('LocalSide', () => {
  const signal = new AbortController().signal;

  it('answers null or false for what is not there', async () => {
    assert.equal(await side.getManifest('nowhere/app', 'v1', signal), null);
    assert.equal(await side.headManifest('src/app', 'missing', signal), null);
    assert.equal(await side.hasBlob('src/app', sha256('absent'), signal), false);
    assert.equal(await side.hasBlob('nowhere/app', sha256('absent'), signal), false);
    assert.equal(await side.deleteManifest('src/app', sha256('absent'), signal), false);
    assert.equal(await side.mountBlob('dst/app', sha256('absent'), 'src/app', signal), false);
    assert.deepEqual(await side.listTags('src/none', signal), []);
  });

  it('lists tags and repositories', async () => {
    assert.deepEqual((await side.listTags('src/app', signal)).sort(), ['v1', 'v2']);
    const repos = await side.listRepositories(signal);
    assert.ok(repos.includes('src/app') && repos.includes('dst/multi'), repos.join(' '));
    assert.equal(side.label, 'local');
    assert.equal(side.type, 'harbor');
  });

  it('refuses a blob whose bytes do not match its digest, keeping nothing', async () => {
    const digest = sha256('expected');
    await assert.rejects(side.writeBlob('dst/app', digest, 5, Readable.from([Buffer.from('other')]), {}, signal), (err: unknown) => err instanceof SideError && !err.transient);
    assert.equal(await side.hasBlob('dst/app', digest, signal), false);
  });

  it('turns a failing source stream into a transient error', async () => {
    const digest = sha256('stream');
    const data = new Readable({ read() {} });
    setTimeout(() => data.destroy(new Error('connection reset by peer')), 20);
    await assert.rejects(side.writeBlob('dst/app', digest, 6, data, {}, signal), (err: unknown) => err instanceof SideError && err.transient && /connection reset/.test(err.message));
  });

  it('rejects with the signal reason once stopped', async () => {
    const ac = new AbortController();
    ac.abort();
    await assert.rejects(side.getManifest('src/app', 'v1', ac.signal), { name: 'AbortError' });
  });
});
