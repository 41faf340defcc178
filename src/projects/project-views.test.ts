import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ArtifactReferenceRow, ArtifactRow, TagRow } from '../db/index.ts';
import { artifactView, groupTags, imageExtraAttrs, projectView } from './project-views.ts';

const index: ArtifactRow = {
  id: 7,
  repository_id: 2,
  digest: 'sha256:aa',
  media_type: 'application/vnd.oci.image.index.v1+json',
  config_media_type: null,
  artifact_type: null,
  size: 300,
  push_time: Date.UTC(2025, 0, 1),
  pull_time: null,
  manifest_size: 300,
  annotations: '{"a":"b","n":1}',
  subject_digest: null,
};

const tag = (id: number, artifact: number, name: string, push: number): TagRow => ({ id, repository_id: 2, artifact_id: artifact, name, push_time: push, pull_time: null });

test('an index shows its manifest children as references, with ids of the children stored here', () => {
  const refs: ArtifactReferenceRow[] = [
    { id: 1, artifact_id: 7, kind: 'manifest', child_digest: 'sha256:c1', size: 10, media_type: 'm', platform: '{"architecture":"arm64","os":"linux"}', annotations: null },
    { id: 2, artifact_id: 7, kind: 'manifest', child_digest: 'sha256:c2', size: 10, media_type: 'm', platform: null, annotations: '{"k":"v"}' },
  ];
  const v = artifactView(index, { projectId: 1, repository: { id: 2, name: 'library/multi' }, tags: [tag(1, 7, 'v1', 5)], refs, childIds: new Map([['sha256:c1', 9]]), extra: {} }, { withTag: true });
  assert.equal(v.type, 'IMAGE');
  assert.equal(v.media_type, index.media_type, 'an index has no config: its own media type');
  assert.equal(v.pull_time, '0001-01-01T00:00:00.000Z', "never pulled is Go's zero time");
  assert.deepEqual(v.annotations, { a: 'b' }, 'string annotations only');
  assert.deepEqual(
    v.references.map((r) => [r.child_id, r.child_digest, r.platform, r.annotations]),
    [
      [9, 'sha256:c1', { architecture: 'arm64', os: 'linux' }, null],
      [0, 'sha256:c2', null, { k: 'v' }],
    ],
  );
  assert.deepEqual(v.tags?.map((t) => t.name), ['v1']);
  assert.equal(artifactView(index, { projectId: 1, repository: { id: 2, name: 'x' }, tags: [], refs, childIds: new Map(), extra: {} }, { withTag: false }).tags, null);
});

test('tags grouped by artifact, newest first; image attributes; project metadata', () => {
  const grouped = groupTags([tag(1, 7, 'old', 1), tag(2, 7, 'new', 9), tag(3, 8, 'x', 5)]);
  assert.deepEqual(grouped.get(7)?.map((t) => t.name), ['new', 'old']);
  assert.deepEqual(imageExtraAttrs({ architecture: 'amd64', os: 'linux', rootfs: {}, config: { Env: [] } }), { architecture: 'amd64', os: 'linux', config: { Env: [] } });
  const p = projectView({ id: 3, name: 'p', public: 1, owner_id: null, storage_limit: -1, metadata: '{"auto_scan":"true","bogus":"x"}', creation_time: 0, update_time: 0, registry_id: null }, 2, '');
  assert.deepEqual(p.metadata, { auto_scan: 'true', public: 'true' });
  assert.equal(p.owner_id, 0);
  assert.equal(p.repo_count, 2);
});
