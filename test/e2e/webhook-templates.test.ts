/**
 * Template targets end to end: a real Wharf, policies made through the Harbor API, a real skopeo
 * push and a real local receiver. The receiver gets the custom JSON body the template renders
 * (with the pushed digest and the template's Content-Type); a template that fails at render time
 * gives an Error execution and sends nothing; the preview endpoint renders the same event by its
 * id without sending. Skipped when skopeo is missing, unless WHARF_REQUIRE_E2E=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { adminAuth } from '../helpers/wharf.ts';
import { useE2eWharf } from '../helpers/e2e.ts';
import { writeSingleLayerImage } from '../helpers/oci-layout.ts';
import { adminCreds, skopeoOk } from '../helpers/skopeo.ts';
import { startReceiver, jsonBody } from '../helpers/receiver.ts';
import { api, eventually, explain } from '../helpers/webhook-client.ts';

const e2e = useE2eWharf();

const template = `{
  "summary": {{ event.title | append: ": " | append: event.image | json }},
  "repository": {{ event.repository.name | json }},
  "tag": {{ event.tag | json }},
  "digest": {{ event.digest | json }},
  "by": {{ event.operator | json }},
  "at": {{ event.occur_at | date: "%Y-%m-%dT%H:%M:%SZ" | json }},
  "harbor_resource_url": {{ payload.event_data.resources[0].resource_url | json }},
  "policy": {{ policy.name | json }},
  "console": {{ wharf.external_url | append: "/harbor/projects/" | append: event.project.id | json }}
}`;

test('e2e: a skopeo push delivers the rendered template; a template failing at render time is an Error execution', { skip: e2e.skip, timeout: 60_000 }, async () => {
  const w = e2e.wharf();
  const rx = await startReceiver();
  try {
    const project = 'tpl';
    const created = await api(w.url, 'POST', '/api/v2.0/projects', { auth: adminAuth, body: { project_name: project, metadata: { public: 'false' } } });
    assert.equal(created.status, 201, explain('POST', '/api/v2.0/projects', created));
    const scope = `/api/v2.0/projects/${project}/webhook`;
    const make = async (name: string, target: Record<string, unknown>): Promise<string> => {
      const a = await api(w.url, 'POST', `${scope}/policies`, { auth: adminAuth, body: { name, enabled: true, event_types: ['PUSH_ARTIFACT'], targets: [target] } });
      assert.equal(a.status, 201, explain('POST', `${scope}/policies`, a));
      return String(a.headers.location).split('/').pop() ?? '';
    };
    const good = await make('custom-json', { type: 'http', address: `${rx.url}/custom`, payload_format: 'Template', template, template_content_type: 'application/vnd.example.push+json' });
    // Parses (so the policy saves) but renders an unquoted string: not JSON for a JSON content type.
    const bad = await make('broken', { type: 'http', address: `${rx.url}/broken`, payload_format: 'Template', template: '{"by": {{ event.operator }}}' });

    const layout = e2e.layout();
    const img = await writeSingleLayerImage(layout, 'v1');
    await skopeoOk(['copy', '--dest-tls-verify=false', '--dest-creds', adminCreds, layout.ref('v1'), `docker://${w.host}/${project}/app:v1`]);
    const digest = img.manifest.digest;

    const [r] = await rx.waitFor(1, 20_000, '/custom');
    assert.ok(r);
    assert.equal(r.headers['content-type'], 'application/vnd.example.push+json');
    const body = jsonBody(r) as Record<string, unknown>;
    assert.deepEqual(
      { ...body, at: undefined, console: undefined },
      {
        summary: `Artifact pushed: ${w.host}/${project}/app:v1`,
        repository: `${project}/app`,
        tag: 'v1',
        digest,
        by: 'admin',
        at: undefined,
        harbor_resource_url: `${w.host}/${project}/app:v1`,
        policy: 'custom-json',
        console: undefined,
      },
    );
    assert.match(String(body.at), /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.match(String(body.console), new RegExp(`^${w.url}/harbor/projects/\\d+$`));

    const execs = async (id: string) => {
      const a = await api(w.url, 'GET', `${scope}/policies/${id}/executions`, { auth: adminAuth });
      assert.equal(a.status, 200, explain('GET', 'executions', a));
      return a.json as Array<Record<string, unknown>>;
    };
    const [ok] = await eventually(async () => ((await execs(good))[0]?.status === 'Success' ? execs(good) : null));
    assert.equal(ok?.status, 'Success');
    const [failed] = await eventually(async () => ((await execs(bad)).length > 0 ? execs(bad) : null));
    assert.equal(failed?.status, 'Error');
    assert.match(String(failed?.status_message), /could not render the payload: the template's output is not valid JSON/);
    assert.equal(rx.on('/broken').length, 0, 'nothing is sent for a failed render');

    // The preview renders the same stored event, byte for byte, without sending it.
    const ev = await w.wharf.db.kysely.selectFrom('events').select('id').where('type', '=', 'PUSH_ARTIFACT').orderBy('seq', 'desc').executeTakeFirstOrThrow();
    const p = await api(w.url, 'POST', `${scope}/preview`, { auth: adminAuth, body: { target: { type: 'http', address: 'http://unused.invalid/', payload_format: 'Template', template, template_content_type: 'application/vnd.example.push+json' }, event_id: ev.id } });
    assert.equal(p.status, 200, explain('POST', `${scope}/preview`, p));
    const pv = p.json as { content_type: string; body: string };
    assert.equal(pv.content_type, 'application/vnd.example.push+json');
    assert.deepEqual({ ...(JSON.parse(pv.body) as Record<string, unknown>), policy: 'custom-json' }, body);
    assert.equal(rx.requests.length, 1, 'the preview sent nothing');
  } finally {
    await rx.close();
  }
});
