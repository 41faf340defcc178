/**
 * Issue 16's "a multi-platform push yields one folded event" and "a failures-only policy stays
 * silent on success", end to end: a real Wharf on loopback with its built-in scanner, a real
 * receiver, and `skopeo copy --all` of a two-platform OCI index built on disk. A policy with
 * `fold_platforms` gets one PUSH_ARTIFACT listing both platform digests while a policy without it
 * gets all three pushes; a policy whose `status_filters` keep only failed scans hears nothing of
 * the successful scans an unfiltered policy receives.
 * Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth, startWharf } from '../helpers/wharf.ts';
import { jsonBody, startReceiver, type ReceivedRequest } from '../helpers/receiver.ts';
import { OciLayout, writePlatformIndex } from '../helpers/oci-layout.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { api, explain } from '../helpers/webhook-client.ts';

const skip = skipWithoutSkopeo();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The parts of a Default body the test reads. */
interface DefaultBody {
  type: string;
  event_data: { resources: Array<{ digest: string; tag: string; platform?: string; platforms?: Array<{ digest: string; os?: string; architecture?: string; variant?: string }> }> };
}

const body = (r: ReceivedRequest) => jsonBody(r) as DefaultBody; // a Default body (fields read optionally below)

test('e2e: skopeo copy --all of a two-platform image: one folded event with both platforms; a failures-only policy stays silent on successful scans', { skip, timeout: 90_000 }, async () => {
  requireSkopeo();
  const rx = await startReceiver();
  const w = await startWharf();
  try {
    const project = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: 'folding', metadata: { auto_scan: 'true' } } });
    assert.equal(project.status, 201, explain('POST', '/projects', project));
    const policy = async (name: string, extra: Record<string, unknown>) => {
      const a = await api(w.url, 'POST', '/api/v2.0/projects/folding/webhook/policies', {
        auth: adminAuth,
        body: { name, enabled: true, targets: [{ type: 'http', address: `${rx.url}/${name}`, payload_format: 'Default' }], ...extra },
      });
      assert.equal(a.status, 201, explain('POST', 'policies', a));
    };
    await policy('folded', { event_types: ['PUSH_ARTIFACT'], fold_platforms: true });
    await policy('unfolded', { event_types: ['PUSH_ARTIFACT'] });
    await policy('scan-failures', { event_types: ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED'], status_filters: { scan_status: ['Failed'] } });
    await policy('scans', { event_types: ['SCANNING_COMPLETED', 'SCANNING_FAILED', 'SCANNING_STOPPED'] });

    const layout = OciLayout.create();
    const idx = await writePlatformIndex(layout, 'multi');
    await skopeoOk(['copy', '--all', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('multi'), `docker://${w.host}/folding/app:v2`]);
    layout.remove();
    const children = idx.children.map((c) => c.manifest.digest);

    // The unfolded policy hears every manifest; the scans of both platforms complete.
    await rx.waitFor(3, 30_000, '/unfolded');
    await rx.waitFor(2, 60_000, '/scans');
    await rx.waitFor(1, 30_000, '/folded');
    await sleep(1500); // anything extra would have arrived by now

    const unfolded = rx.on('/unfolded').map(body);
    assert.deepEqual(unfolded.map((b) => b.event_data.resources[0]?.digest).sort(), [...children, idx.index.digest].sort(), 'unfolded: the index and each platform manifest');
    assert.ok(unfolded.every((b) => b.event_data.resources[0]?.platforms === undefined), 'unfolded bodies are as before: no platforms list');

    const folded = rx.on('/folded').map(body);
    assert.equal(folded.length, 1, `folded: exactly one event, got ${folded.map((b) => b.event_data.resources[0]?.digest).join(', ')}`);
    const [one] = folded;
    assert.equal(one?.type, 'PUSH_ARTIFACT');
    assert.equal(one?.event_data.resources[0]?.digest, idx.index.digest);
    assert.equal(one?.event_data.resources[0]?.tag, 'v2');
    assert.deepEqual(one?.event_data.resources[0]?.platforms, [
      { digest: children[0], os: 'linux', architecture: 'amd64' },
      { digest: children[1], os: 'linux', architecture: 'arm64' },
    ]);

    const scans = rx.on('/scans').map(body);
    assert.ok(scans.length >= 2 && scans.every((b) => b.type === 'SCANNING_COMPLETED'), `the unfiltered policy hears the successful scans: ${scans.map((b) => b.type).join(', ')}`);
    assert.deepEqual(rx.on('/scan-failures').length, 0, 'the failures-only policy stays silent');
  } finally {
    await w.close();
    await rx.close();
  }
});
