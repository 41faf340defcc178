/**
 * End-to-end: tag immutability as the real skopeo sees it. A rule on `library/e2e-imm` makes `v*`
 * immutable; the first push of `v1` passes, a re-push (the same image, then another) fails and
 * skopeo's stderr carries Harbor's message; a tag no rule selects can still be overwritten.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { adminCreds, describeRun, skopeo, skopeoOk } from '../helpers/skopeo.ts';
import { writeSingleLayerImage, type OciLayout } from '../helpers/oci-layout.ts';

const { skip, wharf, layout } = useE2eWharf();
const timeout = 180_000;

const copy = (src: OciLayout, tag: string, dest: string) =>
  ['copy', '--quiet', '--dest-tls-verify=false', '--dest-creds', adminCreds, src.ref(tag), `docker://${wharf().host}/library/e2e-imm:${dest}`];

test('e2e: skopeo re-push over an immutable tag fails with Harbor’s message', { skip, timeout }, async () => {
  const r = await fetch(`${wharf().url}/api/v2.0/projects/library/immutabletagrules`, {
    method: 'POST',
    headers: { authorization: adminAuth, 'content-type': 'application/json', 'x-is-resource-name': 'true' },
    body: JSON.stringify({
      tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern: 'v*' }],
      scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: 'e2e-imm' }] },
    }),
  });
  assert.equal(r.status, 201, await r.text());

  const first = layout();
  await writeSingleLayerImage(first, 'v1');
  await skopeoOk(copy(first, 'v1', 'v1'));
  const again = await skopeo(copy(first, 'v1', 'v1'));
  assert.notEqual(again.code, 0, describeRun(again));
  assert.ok(again.stderr.includes("Failed to process request due to 'e2e-imm:v1' configured as immutable."), describeRun(again));

  const other = layout();
  await writeSingleLayerImage(other, 'v1');
  const moved = await skopeo(copy(other, 'v1', 'v1'));
  assert.notEqual(moved.code, 0, describeRun(moved));
  assert.ok(moved.stderr.includes("Failed to process request due to 'e2e-imm:v1' configured as immutable."), describeRun(moved));

  // A tag no rule selects is overwritten as usual.
  await skopeoOk(copy(first, 'v1', 'latest'));
  await skopeoOk(copy(other, 'v1', 'latest'));
});
