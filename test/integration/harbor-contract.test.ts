/**
 * Harbor's contract: every operation of Harbor's swagger (../shared/reference/harbor-swagger.yaml,
 * 203 operations) that Wharf serves is called against a seeded Wharf, and every answer is checked
 * against the swagger (test/helpers/swagger.ts): a declared status, the body's schema (required
 * fields, types, enums, no null where the swagger has none), X-Total-Count, Link and Location.
 *
 * The seed: projects, users, members, robots, labels, a webhook policy with a delivery to a real
 * local receiver, images pushed with skopeo (an image and a two-platform index) and through /v2 (an
 * SBOM referrer and a cosign signature), immutable rules, a retention policy and a run, a scan with
 * the built-in scanner, a second scanner registration (a real local adapter), a registry endpoint
 * (this Wharf itself), a replication policy and a run, quotas, the audit log, GC and audit purge runs.
 *
 * "Served" is the running app's route table matched against the swagger's paths; every served
 * operation must have a call in `calls` below, so a new route fails this test until it is called
 * and checked. A few error answers (401/403/404/409/412) are checked against `Errors` too. The
 * report (operations, served, exercised, clean, the unserved list) is printed and written to
 * test-results/harbor-contract.json. Differences in code this test's author may not change are in
 * `knownDifferences`, each with a reason; they are reported, and one that no longer happens fails.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request, type Dispatcher } from 'undici';
import { adminAuth, adminPassword, startWharf, type TestWharf } from '../helpers/wharf.ts';
import { routesOf } from '../helpers/routes.ts';
import { SwaggerContract, routeServes, type Mismatch } from '../helpers/swagger.ts';
import { adminCreds, requireSkopeo, skipWithoutSkopeo, skopeoOk } from '../helpers/skopeo.ts';
import { startLdap, type TestLdap } from '../helpers/ldap-server.ts';
import { OciLayout, writeArtifact, writePlatformIndex, writeSingleLayerImage, sha256 } from '../helpers/oci-layout.ts';
import { startReceiver, type Receiver } from '../helpers/receiver.ts';
import { startTestAdapter, type TestAdapter } from '../helpers/test-adapter.ts';
import { api, eventually, pushBlob, putManifest, type ApiAnswer } from '../helpers/webhook-client.ts';
import { policyBody, rule } from '../helpers/retention.ts';

const repoRoot = join(import.meta.dirname, '..', '..');
const swaggerFile = join(repoRoot, '..', 'shared', 'reference', 'harbor-swagger.yaml');
const contract = SwaggerContract.load(swaggerFile);

/** Swagger literals a route parameter serves: `…/additions/vulnerabilities` is `…/additions/:addition`. */
const literalParams = new Set(['vulnerabilities']);

/**
 * Differences from the swagger in code other sessions are changing; each is reported as known
 * (operationId, status, pointer prefix, why). Remove an entry once its fix lands: an entry that
 * matches nothing fails the test.
 */
const knownDifferences: Array<{ operationId: string; status: number; pointer: string; reason: string }> = [];

/** One answer, as the calls see it. */
type Got = ApiAnswer;

interface OpResult {
  calls: number;
  /** Answers that were an empty list (their item schema went unchecked). */
  emptyLists: number;
  mismatches: Mismatch[];
  known: Mismatch[];
}
const results = new Map<string, OpResult>();
const errorChecks: Array<{ operationId: string; status: number; ok: boolean }> = [];

function resultOf(operationId: string): OpResult {
  let r = results.get(operationId);
  if (!r) {
    r = { calls: 0, emptyLists: 0, mismatches: [], known: [] };
    results.set(operationId, r);
  }
  return r;
}

function obj(v: unknown): Record<string, unknown> {
  assert.ok(typeof v === 'object' && v !== null && !Array.isArray(v), `not an object: ${JSON.stringify(v)?.slice(0, 300)}`);
  return v as Record<string, unknown>; // checked just above
}
function arr(v: unknown): unknown[] {
  assert.ok(Array.isArray(v), `not an array: ${JSON.stringify(v)?.slice(0, 300)}`);
  return v;
}
function lastSegment(loc: string | string[] | undefined): string {
  return String(Array.isArray(loc) ? loc[0] : loc)
    .split('/')
    .pop() ?? '';
}

let tw: TestWharf;

/** Options of one call. */
interface CallOptions {
  params?: Record<string, string | number>;
  query?: Record<string, string | number | boolean>;
  body?: unknown;
  /** `Authorization` value; admin when omitted, none when ''. */
  auth?: string;
  /** The status the driven case must answer (any 2xx when omitted). */
  expect?: number;
}

/** Calls `operationId` (its swagger path filled from `params`) and checks the answer against the swagger. */
async function call(operationId: string, opts: CallOptions = {}): Promise<Got> {
  const op = contract.operation(operationId);
  const path = op.path.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = opts.params?.[k];
    assert.ok(v !== undefined, `${operationId}: no value for {${k}}`);
    return encodeURIComponent(String(v));
  });
  const qs = opts.query ? '?' + new URLSearchParams(Object.entries(opts.query).map(([k, v]) => [k, String(v)])).toString() : '';
  const auth = opts.auth ?? adminAuth;
  // HttpMethod is undici's union of method names; the swagger's are among them.
  const got: Got = await api(tw.url, op.method as Dispatcher.HttpMethod, path + qs, { auth, body: opts.body });
  const r = resultOf(operationId);
  r.calls++;
  if (Array.isArray(got.json) && got.json.length === 0) r.emptyLists++;
  for (const m of contract.check(operationId, got)) {
    const known = knownDifferences.find((k) => k.operationId === m.operationId && k.status === m.status && m.pointer.startsWith(k.pointer));
    (known ? r.known : r.mismatches).push(m);
  }
  const expected = opts.expect;
  const driven = expected === undefined ? got.status >= 200 && got.status < 300 : got.status === expected;
  assert.ok(driven, `${operationId} ${op.method} ${path}${qs}: expected ${expected ?? '2xx'}, got ${got.status}: ${got.text.slice(0, 400)}`);
  return got;
}

/** An error answer of `operationId`: the status given, and a body of the swagger's `Errors`. */
async function callError(operationId: string, status: number, opts: CallOptions = {}): Promise<void> {
  const before = resultOf(operationId).mismatches.length;
  await call(operationId, { ...opts, expect: status });
  errorChecks.push({ operationId, status, ok: resultOf(operationId).mismatches.length === before });
}

/** The ids and names the seed made, for the calls. */
interface Seed {
  projectId: number;
  otherProject: string;
  userId: number;
  memberId: number;
  robotId: number;
  labelId: number;
  projectLabelId: number;
  webhookId: number;
  webhookExecutionId: number;
  webhookTaskId: number;
  immutableRuleId: number;
  retentionId: number;
  retentionExecutionId: number;
  retentionTaskId: number;
  builtinScanner: string;
  extraScanner: string;
  registryId: number;
  replicationPolicyId: number;
  replicationExecutionId: number;
  replicationTaskId: number;
  gcId: number;
  purgeId: number;
  appDigest: string;
  indexDigest: string;
  reportId: string;
  quotaId: number;
  jobTaskId: number;
  systemRobotId: number;
  preheatInstanceId: number;
  preheatExecutionId: number;
  preheatTaskId: number;
  exportId: number;
  exportFile: boolean;
  iconDigest: string;
  proxyProject: string;
  groupId?: number;
  adapterUrl: string;
  receiverUrl: string;
  /** The scan the seed started (scanArtifact is called there). */
  scanned: true;
}

const s = {} as Seed; // filled by the seed in before(); every call runs after it
const project = 'contract';
const repo = 'app';
const multi = 'multi';
const art = (ref: string | number, r = repo): Record<string, string | number> => ({ project_name: project, repository_name: r, reference: ref });

/** The calls, in order; each exercises one operation (some also make what later calls need). */
const calls: Array<[string, () => Promise<unknown>]> = [
  // system and health
  ['getPing', () => call('getPing')],
  ['getHealth', () => call('getHealth')],
  ['getSystemInfo', () => call('getSystemInfo')],
  ['getVolumes', () => call('getVolumes')],
  ['getCert', () => call('getCert', { expect: 404 })],
  ['getStatistic', () => call('getStatistic')],
  ['search', () => call('search', { query: { q: 'contract' } })],
  ['getConfigurations', () => call('getConfigurations')],
  ['updateConfigurations', () => call('updateConfigurations', { body: { read_only: false } })],
  ['getInternalconfig', () => call('getInternalconfig')],
  ['getPermissions', () => call('getPermissions')],
  // users
  ['listUsers', () => call('listUsers')],
  ['searchUsers', () => call('searchUsers', { query: { username: 'contract' } })],
  [
    'getCurrentUserInfo',
    async () => {
      await call('getCurrentUserInfo');
      await call('getCurrentUserInfo', { auth: devAuthNow() });
    },
  ],
  ['getCurrentUserPermissions', () => call('getCurrentUserPermissions', { query: { scope: `/project/${s.projectId}`, relative: true } })],
  ['getUser', () => call('getUser', { params: { user_id: s.userId } })],
  ['updateUserProfile', () => call('updateUserProfile', { params: { user_id: s.userId }, body: { email: 'contract-dev@example.com', realname: 'Contract Dev', comment: 'seeded' } })],
  ['setUserSysAdmin', () => call('setUserSysAdmin', { params: { user_id: s.userId }, body: { sysadmin_flag: false } })],
  ['updateUserPassword', () => call('updateUserPassword', { params: { user_id: s.userId }, body: { old_password: '', new_password: 'Contract-Pass-2' } })],
  ['setCliSecret', () => call('setCliSecret', { params: { user_id: s.userId }, body: { secret: 'Contract-Cli-Secret-1' }, expect: 412 })],
  // user groups
  ['listUserGroups', () => call('listUserGroups')],
  ['searchUserGroups', () => call('searchUserGroups', { query: { groupname: 'contract' } })],
  ['getUserGroup', async () => s.groupId !== undefined && call('getUserGroup', { params: { group_id: s.groupId } })],
  ['updateUserGroup', async () => s.groupId !== undefined && call('updateUserGroup', { params: { group_id: s.groupId }, body: { group_name: 'contract-group', group_type: 3 } })],
  // LDAP, against a private slapd (its ldap_* settings saved; auth_mode stays db_auth)
  ['pingLdap', async () => call('pingLdap', { body: { ldap_url: (await directory()).url, ldap_search_dn: (await directory()).bindDn, ldap_search_password: (await directory()).bindPassword } })],
  ['searchLdapUser', async () => (await directory(), call('searchLdapUser', { query: { username: 'alice' } }))],
  [
    'importLdapUser',
    async () => {
      await directory();
      await call('importLdapUser', { body: { ldap_uid_list: ['alice'] } });
      await call('importLdapUser', { body: { ldap_uid_list: ['nobody'] }, expect: 404 });
    },
  ],
  ['searchLdapGroup', async () => (await directory(), call('searchLdapGroup', { query: { groupname: 'developers' } }))],
  // projects
  [
    'listProjects',
    async () => {
      await call('listProjects', { query: { page_size: 1 } });
      await call('listProjects', { query: { page: 2, page_size: 1 } });
      // A caller who is a member of none of them (contract-copy is public).
      await call('listProjects', { auth: devAuthNow() });
    },
  ],
  [
    'headProject',
    async () => {
      await call('headProject', { query: { project_name: project } });
      await call('headProject', { query: { project_name: 'no-such-project' }, expect: 404 });
    },
  ],
  [
    'getProject',
    async () => {
      await call('getProject', { params: { project_name_or_id: project } });
      await call('getProject', { params: { project_name_or_id: s.proxyProject } });
      await call('getProject', { params: { project_name_or_id: s.otherProject }, auth: devAuthNow() });
    },
  ],
  ['updateProject', () => call('updateProject', { params: { project_name_or_id: project }, body: { metadata: { auto_scan: 'false' } } })],
  ['getProjectDeletable', () => call('getProjectDeletable', { params: { project_name_or_id: project } })],
  ['getProjectSummary', () => call('getProjectSummary', { params: { project_name_or_id: project } })],
  ['listProjectMetadatas', () => call('listProjectMetadatas', { params: { project_name_or_id: project } })],
  ['addProjectMetadatas', () => call('addProjectMetadatas', { params: { project_name_or_id: project }, body: { severity: 'high' } })],
  ['getProjectMetadata', () => call('getProjectMetadata', { params: { project_name_or_id: project, meta_name: 'severity' } })],
  ['updateProjectMetadata', () => call('updateProjectMetadata', { params: { project_name_or_id: project, meta_name: 'severity' }, body: { severity: 'low' } })],
  ['deleteProjectMetadata', () => call('deleteProjectMetadata', { params: { project_name_or_id: project, meta_name: 'severity' } })],
  ['listProjectMembers', () => call('listProjectMembers', { params: { project_name_or_id: project } })],
  ['getProjectMember', () => call('getProjectMember', { params: { project_name_or_id: project, mid: s.memberId } })],
  ['updateProjectMember', () => call('updateProjectMember', { params: { project_name_or_id: project, mid: s.memberId }, body: { role_id: 3 } })],
  ['getLogs', () => call('getLogs', { params: { project_name: project } })],
  ['getLogExts', () => call('getLogExts', { params: { project_name: project } })],
  ['listAuditLogs', () => call('listAuditLogs', { query: { page_size: 2 } })],
  ['listAuditLogExts', () => call('listAuditLogExts', { query: { page_size: 2 } })],
  ['listAuditLogEventTypes', () => call('listAuditLogEventTypes')],
  // repositories and artifacts
  ['listAllRepositories', () => call('listAllRepositories')],
  ['listRepositories', () => call('listRepositories', { params: { project_name: project } })],
  ['getRepository', () => call('getRepository', { params: { project_name: project, repository_name: repo } })],
  ['updateRepository', () => call('updateRepository', { params: { project_name: project, repository_name: repo }, body: { description: 'the contract image' } })],
  ['listArtifacts', () => call('listArtifacts', { params: { project_name: project, repository_name: repo }, query: { with_tag: true, with_label: true, with_scan_overview: true, with_sbom_overview: true, with_signature: true, with_immutable_status: true, with_accessory: true } })],
  ['listArtifactsOfProject', () => call('listArtifactsOfProject', { params: { project_name_or_id: project }, query: { with_tag: true, with_label: true, with_scan_overview: true, with_accessory: true } })],
  [
    'getArtifact',
    async () => {
      await call('getArtifact', { params: art(s.appDigest), query: { with_tag: true, with_label: true, with_scan_overview: true, with_sbom_overview: true, with_signature: true, with_immutable_status: true, with_accessory: true } });
      await call('getArtifact', { params: art(s.indexDigest, multi), query: { with_tag: true, with_accessory: true } });
    },
  ],
  ['listAccessories', () => call('listAccessories', { params: art(s.appDigest) })],
  [
    'getVulnerabilitiesAddition',
    async () => {
      await call('getVulnerabilitiesAddition', { params: art(s.appDigest) });
      await call('getVulnerabilitiesAddition', { params: art('v1', multi) });
    },
  ],
  [
    'getAddition',
    async () => {
      await call('getAddition', { params: { ...art(s.appDigest), addition: 'build_history' } });
      await call('getAddition', { params: { ...art(s.appDigest), addition: 'vulnerabilities' } });
    },
  ],
  [
    'listTags',
    async () => {
      await call('listTags', { params: art(s.appDigest) });
      await call('listTags', { params: art('v1', multi) });
    },
  ],
  ['createTag', () => call('createTag', { params: art(s.appDigest), body: { name: 'contract-extra' } })],
  ['deleteTag', () => call('deleteTag', { params: { ...art(s.appDigest), tag_name: 'contract-extra' } })],
  ['addLabel', () => call('addLabel', { params: art(s.appDigest), body: { id: s.projectLabelId } })],
  ['removeLabel', () => call('removeLabel', { params: { ...art(s.appDigest), label_id: s.projectLabelId } })],
  ['CopyArtifact', () => call('CopyArtifact', { params: { project_name: s.otherProject, repository_name: repo }, query: { from: `${project}/${repo}:v1` } })],
  [
    'getIcon',
    async () => {
      await call('getArtifact', { params: art('v1', 'iconic') });
      await call('getIcon', { params: { digest: s.iconDigest } });
      await callError('getIcon', 404, { params: { digest: 'sha256:0000000000000000000000000000000000000000000000000000000000000000' } });
    },
  ],
  // scanning
  ['listScanners', () => call('listScanners')],
  ['getScanner', () => call('getScanner', { params: { registration_id: s.builtinScanner } })],
  ['getScannerMetadata', () => call('getScannerMetadata', { params: { registration_id: s.builtinScanner } })],
  ['pingScanner', () => call('pingScanner', { body: { name: 'contract-ping', url: s.adapterUrl } })],
  ['updateScanner', () => call('updateScanner', { params: { registration_id: s.extraScanner }, body: { name: 'contract-adapter', url: s.adapterUrl, description: 'updated' } })],
  [
    'setScannerAsDefault',
    async () => {
      // The adapter stays the default until the end: the security hub counts the default's reports.
      await call('setScannerAsDefault', { params: { registration_id: s.builtinScanner }, body: { is_default: true } });
      await call('setScannerAsDefault', { params: { registration_id: s.extraScanner }, body: { is_default: true } });
    },
  ],
  ['getScannerOfProject', () => call('getScannerOfProject', { params: { project_name_or_id: project } })],
  ['setScannerOfProject', () => call('setScannerOfProject', { params: { project_name_or_id: project }, body: { uuid: s.builtinScanner } })],
  ['listScannerCandidatesOfProject', () => call('listScannerCandidatesOfProject', { params: { project_name_or_id: project } })],
  ['scanArtifact', async () => s.scanned],
  ['getReportLog', () => call('getReportLog', { params: { ...art(s.appDigest), report_id: s.reportId } })],
  ['stopScanArtifact', () => call('stopScanArtifact', { params: art(s.appDigest), body: { scan_type: 'vulnerability' } })],
  ['createScanAllSchedule', () => call('createScanAllSchedule', { body: { schedule: { type: 'Manual' } } })],
  ['stopScanAll', () => call('stopScanAll')],
  ['updateScanAllSchedule', () => call('updateScanAllSchedule', { body: { schedule: { type: 'Custom', cron: '0 0 5 * * *' } } })],
  ['getScanAllSchedule', () => call('getScanAllSchedule')],
  ['getLatestScanAllMetrics', () => call('getLatestScanAllMetrics')],
  ['getLatestScheduledScanAllMetrics', () => call('getLatestScheduledScanAllMetrics')],
  ['getSecuritySummary', () => call('getSecuritySummary', { query: { with_dangerous_cve: true, with_dangerous_artifact: true } })],
  ['ListVulnerabilities', () => call('ListVulnerabilities', { query: { tune_count: true, with_tag: true } })],
  // CVE export
  [
    'exportScanData',
    async () => {
      const started = obj((await call('exportScanData', { body: { job_name: 'contract', projects: [s.projectId] } })).json);
      s.exportId = Number(started.id);
      for (let i = 0; i < 200; i++) {
        const e = obj((await call('getScanDataExportExecution', { params: { execution_id: s.exportId } })).json);
        if (e.status === 'Success' || e.status === 'Error') {
          s.exportFile = e.file_present === true;
          return;
        }
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.fail('the CVE export did not finish');
    },
  ],
  ['getScanDataExportExecution', () => call('getScanDataExportExecution', { params: { execution_id: s.exportId } })],
  ['getScanDataExportExecutionList', () => call('getScanDataExportExecutionList')],
  ['downloadScanData', () => (s.exportFile ? call('downloadScanData', { params: { execution_id: s.exportId } }) : callError('downloadScanData', 404, { params: { execution_id: s.exportId } }))],
  ['getSystemCVEAllowlist', () => call('getSystemCVEAllowlist')],
  ['putSystemCVEAllowlist', () => call('putSystemCVEAllowlist', { body: { items: [{ cve_id: 'CVE-2024-0001' }], expires_at: null } })],
  // robots
  [
    'ListRobot',
    async () => {
      await call('ListRobot', { query: { q: `Level=project,ProjectID=${s.projectId}` } });
      await call('ListRobot');
    },
  ],
  [
    'GetRobotByID',
    async () => {
      await call('GetRobotByID', { params: { robot_id: s.robotId } });
      await call('GetRobotByID', { params: { robot_id: s.systemRobotId } });
    },
  ],
  [
    'UpdateRobot',
    async () => {
      const name = obj((await call('GetRobotByID', { params: { robot_id: s.robotId } })).json).name;
      await call('UpdateRobot', { params: { robot_id: s.robotId }, body: robotBody({ name, description: 'updated', disable: false }) });
    },
  ],
  ['RefreshSec', () => call('RefreshSec', { params: { robot_id: s.robotId }, body: {} })],
  // labels
  [
    'ListLabels',
    async () => {
      await call('ListLabels', { query: { scope: 'g' } });
      await call('ListLabels', { query: { scope: 'p', project_id: s.projectId } });
    },
  ],
  ['GetLabelByID', () => call('GetLabelByID', { params: { label_id: s.labelId } })],
  ['UpdateLabel', () => call('UpdateLabel', { params: { label_id: s.labelId }, body: { name: 'contract-global', color: '#00FF00', description: 'updated', scope: 'g' } })],
  // webhooks
  ['ListWebhookPoliciesOfProject', () => call('ListWebhookPoliciesOfProject', { params: { project_name_or_id: project } })],
  ['GetWebhookPolicyOfProject', () => call('GetWebhookPolicyOfProject', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId } })],
  ['UpdateWebhookPolicyOfProject', () => call('UpdateWebhookPolicyOfProject', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId }, body: webhookBody(s.receiverUrl, 'contract-hook') })],
  ['ListExecutionsOfWebhookPolicy', () => call('ListExecutionsOfWebhookPolicy', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId } })],
  ['ListTasksOfWebhookExecution', () => call('ListTasksOfWebhookExecution', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId, execution_id: s.webhookExecutionId } })],
  ['GetLogsOfWebhookTask', () => call('GetLogsOfWebhookTask', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId, execution_id: s.webhookExecutionId, task_id: s.webhookTaskId } })],
  ['LastTrigger', () => call('LastTrigger', { params: { project_name_or_id: project } })],
  ['ListWebhookJobs', () => call('ListWebhookJobs', { params: { project_name_or_id: project }, query: { policy_id: s.webhookId } })],
  ['GetSupportedEventTypes', () => call('GetSupportedEventTypes', { params: { project_name_or_id: project } })],
  // immutable rules
  ['ListImmuRules', () => call('ListImmuRules', { params: { project_name_or_id: project } })],
  ['UpdateImmuRule', () => call('UpdateImmuRule', { params: { project_name_or_id: project, immutable_rule_id: s.immutableRuleId }, body: { ...immutableBody('release-*'), id: s.immutableRuleId } })],
  // retention
  ['getRentenitionMetadata', () => call('getRentenitionMetadata')],
  ['getRetention', () => call('getRetention', { params: { id: s.retentionId } })],
  ['updateRetention', () => call('updateRetention', { params: { id: s.retentionId }, body: { id: s.retentionId, ...policyBody(s.projectId, [rule({ template: 'latestPushedK', n: 10 })]) } })],
  ['listRetentionExecutions', () => call('listRetentionExecutions', { params: { id: s.retentionId } })],
  ['listRetentionTasks', () => call('listRetentionTasks', { params: { id: s.retentionId, eid: s.retentionExecutionId } })],
  ['getRetentionTaskLog', () => call('getRetentionTaskLog', { params: { id: s.retentionId, eid: s.retentionExecutionId, tid: s.retentionTaskId } })],
  ['operateRetentionExecution', () => call('operateRetentionExecution', { params: { id: s.retentionId, eid: s.retentionExecutionId }, body: { action: 'stop' } })],
  // registries and replication
  ['listRegistries', () => call('listRegistries')],
  ['getRegistry', () => call('getRegistry', { params: { id: s.registryId } })],
  ['getRegistryInfo', () => call('getRegistryInfo', { params: { id: s.registryId } })],
  ['pingRegistry', () => call('pingRegistry', { body: { id: s.registryId } })],
  ['updateRegistry', () => call('updateRegistry', { params: { id: s.registryId }, body: { description: 'this Wharf' } })],
  ['listRegistryProviderTypes', () => call('listRegistryProviderTypes')],
  ['listRegistryProviderInfos', () => call('listRegistryProviderInfos')],
  ['listReplicationPolicies', () => call('listReplicationPolicies')],
  ['getReplicationPolicy', () => call('getReplicationPolicy', { params: { id: s.replicationPolicyId } })],
  ['updateReplicationPolicy', () => call('updateReplicationPolicy', { params: { id: s.replicationPolicyId }, body: replicationBody(s.registryId, 'updated') })],
  ['listReplicationExecutions', () => call('listReplicationExecutions', { query: { policy_id: s.replicationPolicyId } })],
  ['getReplicationExecution', () => call('getReplicationExecution', { params: { id: s.replicationExecutionId } })],
  ['listReplicationTasks', () => call('listReplicationTasks', { params: { id: s.replicationExecutionId } })],
  ['getReplicationLog', () => call('getReplicationLog', { params: { id: s.replicationExecutionId, task_id: s.replicationTaskId } })],
  ['stopReplication', () => call('stopReplication', { params: { id: s.replicationExecutionId } })],
  // quotas
  ['listQuotas', () => call('listQuotas', { query: { page_size: 2 } })],
  ['getQuota', () => call('getQuota', { params: { id: s.quotaId } })],
  ['updateQuota', () => call('updateQuota', { params: { id: s.quotaId }, body: { hard: { storage: 10 * 1024 * 1024 * 1024 } } })],
  // jobs
  ['getGCHistory', () => call('getGCHistory')],
  ['getGC', () => call('getGC', { params: { gc_id: s.gcId } })],
  ['getGCLog', () => call('getGCLog', { params: { gc_id: s.gcId } })],
  ['stopGC', () => call('stopGC', { params: { gc_id: s.gcId } })],
  ['updateGCSchedule', () => call('updateGCSchedule', { body: { schedule: { type: 'Custom', cron: '0 0 3 * * *' }, parameters: { delete_untagged: true, workers: 1 } } })],
  ['getGCSchedule', () => call('getGCSchedule')],
  ['getPurgeHistory', () => call('getPurgeHistory')],
  ['getPurgeJob', () => call('getPurgeJob', { params: { purge_id: s.purgeId } })],
  ['getPurgeJobLog', () => call('getPurgeJobLog', { params: { purge_id: s.purgeId } })],
  ['stopPurge', () => call('stopPurge', { params: { purge_id: s.purgeId } })],
  ['updatePurgeSchedule', () => call('updatePurgeSchedule', { body: { schedule: { type: 'Custom', cron: '0 0 4 * * *' }, parameters: { audit_retention_hour: 168, include_event_types: 'create_artifact', dry_run: true } } })],
  ['getPurgeSchedule', () => call('getPurgeSchedule')],
  ['listSchedules', () => call('listSchedules')],
  ['getSchedulePaused', () => call('getSchedulePaused', { params: { job_type: 'all' } })],
  ['getWorkerPools', () => call('getWorkerPools')],
  ['getWorkers', () => call('getWorkers', { params: { pool_id: 'all' } })],
  ['listJobQueues', () => call('listJobQueues')],
  [
    'actionPendingJobs',
    async () => {
      await call('actionPendingJobs', { params: { job_type: 'all' }, body: { action: 'pause' } });
      await call('actionPendingJobs', { params: { job_type: 'all' }, body: { action: 'resume' } });
    },
  ],
  ['actionGetJobLog', () => call('actionGetJobLog', { params: { job_id: s.jobTaskId } })],
  ['stopRunningJob', () => call('stopRunningJob', { params: { job_id: s.jobTaskId }, body: { action: 'stop' } })],
  // P2P preheat (a fake Dragonfly: health and jobs)
  ['ListProviders', () => call('ListProviders')],
  ['PingInstances', () => call('PingInstances', { body: { id: s.preheatInstanceId } })],
  ['ListInstances', () => call('ListInstances')],
  ['GetInstance', () => call('GetInstance', { params: { preheat_instance_name: preheatInstance } })],
  ['UpdateInstance', () => call('UpdateInstance', { params: { preheat_instance_name: preheatInstance }, body: { description: 'updated' } })],
  ['ListProvidersUnderProject', () => call('ListProvidersUnderProject', { params: { project_name: project } })],
  ['ListPolicies', () => call('ListPolicies', { params: { project_name: project } })],
  ['GetPolicy', () => call('GetPolicy', { params: { project_name: project, preheat_policy_name: preheatPolicy } })],
  ['UpdatePolicy', () => call('UpdatePolicy', { params: { project_name: project, preheat_policy_name: preheatPolicy }, body: preheatPolicyBody(s.preheatInstanceId, 'updated') })],
  [
    'ManualPreheat',
    async () => {
      await call('ManualPreheat', { params: { project_name: project, preheat_policy_name: preheatPolicy }, body: preheatPolicyBody(s.preheatInstanceId, 'updated') });
      if (!served.has('ListExecutions')) return;
      const policy = { project_name: project, preheat_policy_name: preheatPolicy };
      const done = await eventually(async () => {
        const list = arr((await call('ListExecutions', { params: policy })).json).map(obj);
        return list.find((e) => !['Running', 'Pending', 'Scheduled'].includes(String(e.status)));
      });
      s.preheatExecutionId = Number(done.id);
    },
  ],
  ['ListExecutions', async () => s.preheatExecutionId],
  ['GetExecution', () => call('GetExecution', { params: { project_name: project, preheat_policy_name: preheatPolicy, execution_id: s.preheatExecutionId } })],
  [
    'ListTasks',
    async () => {
      const tasks = arr((await call('ListTasks', { params: { project_name: project, preheat_policy_name: preheatPolicy, execution_id: s.preheatExecutionId } })).json).map(obj);
      s.preheatTaskId = Number(tasks[0]?.id);
    },
  ],
  ['GetPreheatLog', () => call('GetPreheatLog', { params: { project_name: project, preheat_policy_name: preheatPolicy, execution_id: s.preheatExecutionId, task_id: s.preheatTaskId } })],
  ['StopExecution', () => call('StopExecution', { params: { project_name: project, preheat_policy_name: preheatPolicy, execution_id: s.preheatExecutionId }, body: { status: 'Stopped' } })],
  // deletions last
  ['DeletePolicy', () => call('DeletePolicy', { params: { project_name: project, preheat_policy_name: preheatPolicy } })],
  ['DeleteInstance', () => call('DeleteInstance', { params: { preheat_instance_name: preheatInstance } })],
  ['deleteArtifact', () => call('deleteArtifact', { params: { project_name: s.otherProject, repository_name: repo, reference: 'v1' } })],
  ['deleteRepository', () => call('deleteRepository', { params: { project_name: s.otherProject, repository_name: repo } })],
  ['deleteReplicationPolicy', () => call('deleteReplicationPolicy', { params: { id: s.replicationPolicyId } })],
  [
    'deleteRegistry',
    async () => {
      // Harbor's 412 while a proxy-cache project uses the endpoint, then the delete.
      await callError('deleteRegistry', 412, { params: { id: s.registryId } });
      await call('deleteProject', { params: { project_name_or_id: s.proxyProject } });
      await call('deleteRegistry', { params: { id: s.registryId } });
    },
  ],
  ['deleteRetention', () => call('deleteRetention', { params: { id: s.retentionId } })],
  ['DeleteImmuRule', () => call('DeleteImmuRule', { params: { project_name_or_id: project, immutable_rule_id: s.immutableRuleId } })],
  ['DeleteWebhookPolicyOfProject', () => call('DeleteWebhookPolicyOfProject', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId } })],
  ['DeleteLabel', () => call('DeleteLabel', { params: { label_id: s.labelId } })],
  ['DeleteRobot', () => call('DeleteRobot', { params: { robot_id: s.robotId } })],
  [
    'deleteScanner',
    async () => {
      await call('setScannerAsDefault', { params: { registration_id: s.builtinScanner }, body: { is_default: true } });
      await call('deleteScanner', { params: { registration_id: s.extraScanner } });
    },
  ],
  ['deleteProjectMember', () => call('deleteProjectMember', { params: { project_name_or_id: project, mid: s.memberId } })],
  ['deleteUserGroup', async () => s.groupId !== undefined && call('deleteUserGroup', { params: { group_id: s.groupId } })],
  ['deleteUser', () => call('deleteUser', { params: { user_id: s.userId } })],
  ['deleteProject', () => call('deleteProject', { params: { project_name_or_id: s.otherProject } })],
];

/** Operations the seed calls (their answers are checked there). */
const seeded = [
  'CreateInstance',
  'CreatePolicy',
  'createProject',
  'createUser',
  'createProjectMember',
  'createUserGroup',
  'CreateRobot',
  'CreateLabel',
  'CreateWebhookPolicyOfProject',
  'CreateImmuRule',
  'createScanner',
  'scanArtifact',
  'createRetention',
  'triggerRetentionExecution',
  'createRegistry',
  'createReplicationPolicy',
  'startReplication',
  'createGCSchedule',
  'createPurgeSchedule',
];

function robotBody(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'contract-bot',
    duration: -1,
    level: 'project',
    permissions: [{ kind: 'project', namespace: project, access: [{ resource: 'repository', action: 'pull' }] }],
    ...extra,
  };
}
function webhookBody(address: string, name: string): Record<string, unknown> {
  return {
    name,
    description: 'contract test',
    enabled: true,
    event_types: ['PUSH_ARTIFACT', 'SCANNING_COMPLETED', 'TAG_RETENTION', 'DELETE_ARTIFACT'],
    targets: [{ type: 'http', address, skip_cert_verify: true, payload_format: 'Default' }],
  };
}
function immutableBody(pattern: string): Record<string, unknown> {
  return {
    disabled: false,
    action: 'immutable',
    template: 'immutable_template',
    tag_selectors: [{ kind: 'doublestar', decoration: 'matches', pattern }],
    scope_selectors: { repository: [{ kind: 'doublestar', decoration: 'repoMatches', pattern: '**' }] },
  };
}
function replicationBody(registryId: number, description: string): Record<string, unknown> {
  return {
    name: 'contract-push',
    description,
    src_registry: null,
    dest_registry: { id: registryId },
    dest_namespace: 'contract-mirror',
    filters: [{ type: 'name', value: `${project}/${repo}` }],
    trigger: { type: 'manual' },
    enabled: true,
    override: true,
  };
}

const preheatInstance = 'contract-dragonfly';
const preheatPolicy = 'contract-preheat';
function preheatPolicyBody(providerId: number, description: string): Record<string, unknown> {
  return {
    name: preheatPolicy,
    description,
    project_id: s.projectId,
    provider_id: providerId,
    filters: JSON.stringify([
      { type: 'repository', value: '**' },
      { type: 'tag', value: '**' },
    ]),
    trigger: JSON.stringify({ type: 'manual', trigger_setting: {} }),
    enabled: true,
  };
}

/** A fake Dragonfly for preheat: healthy, and every job it is given succeeds. */
async function startDragonfly(): Promise<{ url: string; close(): Promise<void> }> {
  let next = 1;
  const server = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const json = (v: unknown) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(v));
      const now = new Date().toISOString();
      if (req.method === 'GET' && req.url === '/healthy') return json({});
      if (req.method === 'POST' && req.url === '/oapi/v1/jobs') return json({ id: next++, state: 'PENDING', created_at: now, updated_at: now });
      const m = /^\/oapi\/v1\/jobs\/(\d+)$/.exec(req.url ?? '');
      if (req.method === 'GET' && m) return json({ id: Number(m[1]), state: 'SUCCESS', result: { job_states: [{ error: '', results: [] }] } });
      res.writeHead(404).end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port; // a TCP server's address is an AddressInfo
  return { url: `http://127.0.0.1:${port}`, close: () => new Promise<void>((r) => server.close(() => r())) };
}
let dragonfly: { url: string; close(): Promise<void> } | undefined;

function idFrom(g: Got): number {
  const id = Number(lastSegment(g.headers.location));
  assert.ok(Number.isInteger(id) && id > 0, `no id in Location ${String(g.headers.location)}`);
  return id;
}

let receiver: Receiver;
let adapter: TestAdapter;
let served = new Set<string>();
let ldap: TestLdap | undefined;

/** The private slapd of the LDAP calls, started and saved in the settings at the first of them. */
async function directory(): Promise<TestLdap> {
  if (ldap) return ldap;
  ldap = await startLdap();
  const l = ldap;
  await call('updateConfigurations', { body: { ldap_url: l.url, ldap_search_dn: l.bindDn, ldap_search_password: l.bindPassword, ldap_base_dn: l.peopleDn, ldap_uid: 'uid', ldap_group_base_dn: l.groupsDn } });
  return l;
}
let extensions: string[] = [];
const devAuth = 'Basic ' + Buffer.from('contract-dev:Contract-Pass-1').toString('base64');
/** contract-dev's credentials after updateUserPassword. */
const devAuthNow = () => (results.get('updateUserPassword')?.calls ? 'Basic ' + Buffer.from('contract-dev:Contract-Pass-2').toString('base64') : devAuth);

/** Pushes the images: app:v1 and multi:v1 (an index) with skopeo, an SBOM referrer and a cosign signature through /v2. */
async function pushImages(): Promise<void> {
  const layout = OciLayout.create();
  try {
    const app = await writeSingleLayerImage(layout, 'app');
    await writePlatformIndex(layout, 'multi');
    const opts = ['--dest-creds', adminCreds, '--dest-tls-verify=false'];
    await skopeoOk(['copy', ...opts, layout.ref('app'), `docker://${tw.host}/${project}/${repo}:v1`]);
    await skopeoOk(['copy', '--all', ...opts, layout.ref('multi'), `docker://${tw.host}/${project}/${multi}:v1`]);
    s.appDigest = app.manifest.digest;
    // An SBOM referrer (OCI 1.1 subject) through /v2.
    const sbom = writeArtifact(layout, app.manifest);
    for (const b of sbom.blobs) await pushBlob(tw.url, `${project}/${repo}`, b.data, adminAuth);
    await putManifest(tw.url, `${project}/${repo}`, sbom.manifest.digest, sbom.manifestBody, { auth: adminAuth });
    // A cosign signature: tag sha256-<hex>.sig, a simple-signing layer.
    const payload = Buffer.from(JSON.stringify({ critical: { image: { 'docker-manifest-digest': app.manifest.digest }, type: 'cosign container image signature' } }));
    const config = Buffer.from(JSON.stringify({ architecture: '', os: '', rootfs: { type: 'layers', diff_ids: [sha256(payload)] }, config: {} }));
    await pushBlob(tw.url, `${project}/${repo}`, payload, adminAuth);
    await pushBlob(tw.url, `${project}/${repo}`, config, adminAuth);
    const sig = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.dev.cosign.simplesigning.v1+json', digest: sha256(payload), size: payload.length, annotations: { 'dev.cosignproject.cosign/signature': 'MEUCIQ==' } }],
      }),
    );
    await putManifest(tw.url, `${project}/${repo}`, `${app.manifest.digest.replace(':', '-')}.sig`, sig, { auth: adminAuth });
    // An artifact with an icon layer (Harbor's icon annotation, a 1×1 PNG), for GET /icons/{digest}.
    const png = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==', 'base64');
    const emptyConfig = Buffer.from('{}');
    await pushBlob(tw.url, `${project}/iconic`, png, adminAuth);
    await pushBlob(tw.url, `${project}/iconic`, emptyConfig, adminAuth);
    s.iconDigest = sha256(png);
    const iconic = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: 'application/vnd.oci.image.manifest.v1+json',
        artifactType: 'application/vnd.wharf.contract.v1',
        config: { mediaType: 'application/vnd.oci.empty.v1+json', digest: sha256(emptyConfig), size: emptyConfig.length },
        layers: [{ mediaType: 'image/png', digest: s.iconDigest, size: png.length, annotations: { 'io.goharbor.artifact.v1alpha1.icon': '' } }],
      }),
    );
    await putManifest(tw.url, `${project}/iconic`, 'v1', iconic, { auth: adminAuth });
    s.indexDigest = String((await request(`${tw.url}/v2/${project}/${multi}/manifests/v1`, { method: 'HEAD', headers: { authorization: adminAuth, accept: 'application/vnd.oci.image.index.v1+json' } })).headers['docker-content-digest']);
  } finally {
    layout.remove();
  }
}

/** Waits for a job-like resource to leave its running states. */
async function finished(operationId: string, params: Record<string, string | number>, field = 'status'): Promise<Record<string, unknown>> {
  return eventually(async () => {
    const g = await call(operationId, { params });
    const o = obj(g.json);
    return ['Running', 'Pending', 'InProgress', 'Scheduled', 'running', 'pending'].includes(String(o[field])) ? undefined : o;
  });
}

async function seed(): Promise<void> {
  const can = (op: string) => served.has(op);
  s.projectId = idFrom(await call('createProject', { body: { project_name: project, metadata: { public: 'false' }, storage_limit: -1 } }));
  s.otherProject = 'contract-copy';
  await call('createProject', { body: { project_name: s.otherProject, metadata: { public: 'true' } } });
  await call('createProject', { body: { project_name: 'contract-mirror', metadata: { public: 'false' } } });
  s.userId = idFrom(await call('createUser', { body: { username: 'contract-dev', email: 'contract-dev@example.org', realname: 'Contract', password: 'Contract-Pass-1', comment: 'contract test' } }));
  s.memberId = idFrom(await call('createProjectMember', { params: { project_name_or_id: project }, body: { role_id: 2, member_user: { username: 'contract-dev' } } }));
  if (can('createUserGroup')) {
    s.groupId = idFrom(await call('createUserGroup', { body: { group_name: 'contract-group', group_type: 3 } }));
    if (can('createProjectMember')) await call('createProjectMember', { params: { project_name_or_id: project }, body: { role_id: 3, member_group: { id: s.groupId } } });
  }
  s.robotId = Number(obj((await call('CreateRobot', { body: robotBody({ description: 'contract robot' }) })).json).id);
  const systemRobot = {
    name: 'contract-system',
    duration: 30,
    level: 'system',
    permissions: [
      { kind: 'system', namespace: '/', access: [{ resource: 'project', action: 'create' }] },
      { kind: 'project', namespace: '*', access: [{ resource: 'repository', action: 'push' }, { resource: 'repository', action: 'pull' }] },
    ],
  };
  s.systemRobotId = Number(obj((await call('CreateRobot', { body: systemRobot })).json).id);
  s.labelId = idFrom(await call('CreateLabel', { body: { name: 'contract-global', color: '#FF0000', description: 'global', scope: 'g' } }));
  s.projectLabelId = idFrom(await call('CreateLabel', { body: { name: 'contract-local', color: '#0000FF', scope: 'p', project_id: s.projectId } }));
  receiver = await startReceiver();
  s.receiverUrl = `${receiver.url}/hook`;
  s.webhookId = idFrom(await call('CreateWebhookPolicyOfProject', { params: { project_name_or_id: project }, body: webhookBody(s.receiverUrl, 'contract-hook') }));
  await pushImages();
  await receiver.waitFor(1, 30_000);
  s.webhookExecutionId = Number(obj(arr((await eventually(async () => {
    const g = await call('ListExecutionsOfWebhookPolicy', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId } });
    return arr(g.json).some((e) => obj(e).status === 'Success') ? g : undefined;
  })).json).find((e) => obj(e).status === 'Success')).id);
  s.webhookTaskId = Number(obj(arr((await call('ListTasksOfWebhookExecution', { params: { project_name_or_id: project, webhook_policy_id: s.webhookId, execution_id: s.webhookExecutionId } })).json)[0]).id);
  s.immutableRuleId = idFrom(await call('CreateImmuRule', { params: { project_name_or_id: project }, body: immutableBody('release-*') }));
  // Scanning: the built-in scanner for the project, a second registration (a real local adapter).
  const scanners = arr((await call('listScanners')).json).map(obj);
  s.builtinScanner = String(scanners.find((x) => x.name === 'Wharf')?.uuid);
  adapter = await startTestAdapter('ContractScanner');
  s.adapterUrl = adapter.url;
  s.extraScanner = lastSegment((await call('createScanner', { body: { name: 'contract-adapter', url: adapter.url, description: 'contract' } })).headers.location);
  await call('scanArtifact', { params: art(s.appDigest), body: { scan_type: 'vulnerability' }, expect: 202 });
  s.scanned = true;
  const overview = await eventually(async () => {
    const a = obj((await call('getArtifact', { params: art(s.appDigest), query: { with_scan_overview: true } })).json);
    const so = a.scan_overview === undefined || a.scan_overview === null ? undefined : Object.values(obj(a.scan_overview)).map(obj)[0];
    return so && ['Success', 'Error', 'Stopped'].includes(String(so.scan_status)) ? so : undefined;
  });
  s.reportId = String(overview.report_id);
  // The local adapter reports vulnerabilities (the built-in scanner finds none in these images):
  // scan the index with it, for the security hub and a vulnerabilities addition with content.
  await call('setScannerOfProject', { params: { project_name_or_id: project }, body: { uuid: s.extraScanner } });
  await call('scanArtifact', { params: art('v1', multi), body: { scan_type: 'vulnerability' }, expect: 202 });
  await eventually(async () => {
    const a = obj((await call('getArtifact', { params: art('v1', multi), query: { with_scan_overview: true } })).json);
    const so = a.scan_overview === undefined || a.scan_overview === null ? undefined : Object.values(obj(a.scan_overview)).map(obj)[0];
    return so && ['Success', 'Error', 'Stopped'].includes(String(so.scan_status));
  });
  await call('setScannerOfProject', { params: { project_name_or_id: project }, body: { uuid: s.builtinScanner } });
  // Retention: a policy and a dry run.
  s.retentionId = idFrom(await call('createRetention', { body: policyBody(s.projectId, [rule({ template: 'latestPushedK', n: 5 })]) }));
  s.retentionExecutionId = idFrom(await call('triggerRetentionExecution', { params: { id: s.retentionId }, body: { dry_run: true } }));
  await eventually(async () => {
    const list = arr((await call('listRetentionExecutions', { params: { id: s.retentionId } })).json).map(obj);
    return list.some((e) => e.id === s.retentionExecutionId && !['Running', 'Pending'].includes(String(e.status)));
  });
  const tasks = arr((await call('listRetentionTasks', { params: { id: s.retentionId, eid: s.retentionExecutionId } })).json).map(obj);
  s.retentionTaskId = Number(tasks[0]?.id);
  s.jobTaskId = s.retentionTaskId;
  // A registry endpoint (this Wharf) and a push replication into contract-mirror.
  s.registryId = idFrom(await call('createRegistry', { body: { name: 'contract-self', type: 'harbor', url: tw.url, insecure: true, credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } } }));
  s.proxyProject = 'contract-proxy';
  await call('createProject', { body: { project_name: s.proxyProject, registry_id: s.registryId, metadata: { public: 'true' } } });
  s.replicationPolicyId = idFrom(await call('createReplicationPolicy', { body: replicationBody(s.registryId, 'contract') }));
  s.replicationExecutionId = idFrom(await call('startReplication', { body: { policy_id: s.replicationPolicyId } }));
  await finished('getReplicationExecution', { id: s.replicationExecutionId });
  s.replicationTaskId = Number(obj(arr((await call('listReplicationTasks', { params: { id: s.replicationExecutionId } })).json)[0]).id);
  // P2P preheat: an instance (a fake Dragonfly) and a manual policy.
  if (can('CreateInstance')) {
    dragonfly = await startDragonfly();
    await call('CreateInstance', { body: { name: preheatInstance, vendor: 'dragonfly', endpoint: dragonfly.url, auth_mode: 'NONE', enabled: true, default: true, description: 'contract' } });
    s.preheatInstanceId = Number(obj((await call('GetInstance', { params: { preheat_instance_name: preheatInstance } })).json).id);
    if (can('CreatePolicy')) await call('CreatePolicy', { params: { project_name: project }, body: preheatPolicyBody(s.preheatInstanceId, 'contract') });
  }
  // Quotas, GC and audit purge runs.
  const quotas = arr((await call('listQuotas', { query: { reference: 'project', reference_id: s.projectId } })).json).map(obj);
  s.quotaId = Number(quotas[0]?.id);
  s.gcId = idFrom(await call('createGCSchedule', { body: { schedule: { type: 'Manual' }, parameters: { delete_untagged: false, dry_run: true, workers: 1 } } }));
  await finished('getGC', { gc_id: s.gcId }, 'job_status');
  s.purgeId = idFrom(await call('createPurgeSchedule', { body: { schedule: { type: 'Manual' }, parameters: { audit_retention_hour: 168, include_event_types: 'create_artifact', dry_run: true } } }));
  await finished('getPurgeJob', { purge_id: s.purgeId }, 'job_status');
}

/** A few error answers: their bodies must be the swagger's `Errors`. */
async function errorCases(): Promise<void> {
  await callError('getCurrentUserInfo', 401, { auth: '' });
  await callError('listUsers', 403, { auth: devAuth });
  await callError('getProject', 404, { params: { project_name_or_id: 'no-such-project' } });
  await callError('createProject', 409, { body: { project_name: project } });
  await callError('deleteProject', 412, { params: { project_name_or_id: project } });
  await callError('getRegistry', 404, { params: { id: 999999 } });
  await callError('CreateLabel', 409, { body: { name: 'contract-global', color: '#FF0000', scope: 'g' } });
  await callError('createUser', 409, { body: { username: 'contract-dev', email: 'other@example.org', realname: 'x', password: 'Contract-Pass-1' } });
  await callError('GetRobotByID', 404, { params: { robot_id: 999999 } });
  await callError('deleteRetention', 403, { params: { id: s.retentionId }, auth: devAuth });
  await callError('listProjects', 401, { auth: 'Basic ' + Buffer.from('admin:wrong').toString('base64') });
  await callError('GetWebhookPolicyOfProject', 404, { params: { project_name_or_id: project, webhook_policy_id: 999999 } });
  await callError('CreateWebhookPolicyOfProject', 403, { params: { project_name_or_id: project }, body: webhookBody(s.receiverUrl, 'dev-hook'), auth: devAuth });
  await callError('CreateWebhookPolicyOfProject', 400, { params: { project_name_or_id: project }, body: { name: 'bad', event_types: ['NO_SUCH_EVENT'], targets: [] } });
  await callError('GetLabelByID', 404, { params: { label_id: 999999 } });
  await callError('getScanner', 404, { params: { registration_id: 'no-such-scanner' } });
  await callError('getQuota', 404, { params: { id: 999999 } });
  await callError('getUser', 404, { params: { user_id: 999999 } });
  await callError('createRegistry', 409, { body: { name: 'contract-self', type: 'harbor', url: tw.url, insecure: true, credential: { type: 'basic', access_key: 'admin', access_secret: adminPassword } } });
  await callError('createReplicationPolicy', 409, { body: replicationBody(s.registryId, 'again') });
  await callError('getReplicationExecution', 404, { params: { id: 999999 } });
  await callError('getGC', 404, { params: { gc_id: 999999 } });
  await callError('UpdateImmuRule', 404, { params: { project_name_or_id: project, immutable_rule_id: 999999 }, body: immutableBody('x') });
  await callError('listRepositories', 404, { params: { project_name: 'no-such-project' } });
  await callError('getRepository', 404, { params: { project_name: project, repository_name: 'no-such-repo' } });
}

describe('Harbor contract: every served operation against the swagger', { skip: skipWithoutSkopeo(), timeout: 180_000 }, () => {
  before(async () => {
    requireSkopeo();
    tw = await startWharf();
    const routes = routesOf(tw.wharf.app.printRoutes({ commonPrefix: false })).filter((r) => r.path.startsWith('/api/v2.0/'));
    served = new Set(contract.operations.filter((op) => routes.some((r) => r.method === op.method && routeServes(r.path, op.path, literalParams))).map((op) => op.operationId));
    // Wharf's own routes under /api/v2.0 (extensions): reported, not checked.
    extensions = routes.filter((r) => r.method !== 'HEAD' && !contract.operations.some((op) => op.method === r.method && routeServes(r.path, op.path, literalParams))).map((r) => `${r.method} ${r.path}`);
  });
  after(async () => {
    await receiver?.close();
    await adapter?.close();
    await dragonfly?.close();
    await tw?.close();
    await ldap?.stop();
  });

  test('seed, call every served operation, check every answer', async () => {
    await seed();
    await errorCases();
    const listed = new Set([...seeded, ...calls.map(([op]) => op)]);
    const failedCalls: string[] = [];
    for (const [op, run] of calls) {
      if (!served.has(op)) continue;
      try {
        await run();
      } catch (e) {
        failedCalls.push(e instanceof Error ? e.message : String(e));
      }
    }

    const unlisted = [...served].filter((op) => !listed.has(op));
    const unexercised = [...served].filter((op) => !(results.get(op)?.calls ?? 0));
    const mismatches = [...results.values()].flatMap((r) => r.mismatches);
    const known = [...results.values()].flatMap((r) => r.known);
    /** The distinct pointers and messages a known difference matched, array indices folded to `*`. */
    const seenOf = (k: (typeof knownDifferences)[number]): string[] => [
      ...new Set(known.filter((m) => m.operationId === k.operationId && m.status === k.status && m.pointer.startsWith(k.pointer)).map((m) => `${m.pointer.replace(/\/\d+(?=\/|$)/g, '/*')} ${m.message}`)),
    ];
    const unusedKnown = knownDifferences.filter((k) => !known.some((m) => m.operationId === k.operationId && m.status === k.status && m.pointer.startsWith(k.pointer)));
    const clean = [...served].filter((op) => (results.get(op)?.calls ?? 0) > 0 && !results.get(op)?.mismatches.length && !results.get(op)?.known.length);
    // Lists that were empty every time: their items were never checked (reported, not a failure).
    const onlyEmpty = [...results.entries()].filter(([, r]) => r.calls > 0 && r.emptyLists === r.calls).map(([op]) => op);
    const unserved = contract.operations.filter((op) => !served.has(op.operationId)).map((op) => `${op.method} ${op.path} ${op.operationId}`);
    const report = {
      swagger: contract.operations.length,
      implemented: served.size,
      exercised: served.size - unexercised.length,
      clean: clean.length,
      errorChecks,
      mismatches,
      knownDifferences: knownDifferences.map((k) => ({ ...k, seen: seenOf(k) })),
      unexercised,
      onlyEmpty,
      failedCalls,
      unserved,
      extensions,
    };
    mkdirSync(join(repoRoot, 'test-results'), { recursive: true });
    writeFileSync(join(repoRoot, 'test-results', 'harbor-contract.json'), JSON.stringify(report, null, 2) + '\n');
    const line = (m: Mismatch) => `  ${m.operationId} ${m.status} ${m.pointer || '(body)'}: ${m.message}`;
    console.log(
      [
        `Harbor contract: ${report.swagger} operations in the swagger, ${report.implemented} implemented, ${report.exercised} exercised, ${report.clean} clean`,
        `error answers checked: ${errorChecks.map((e) => `${e.operationId} ${e.status}${e.ok ? '' : ' (mismatch)'}`).join(', ')}`,
        `known differences (${knownDifferences.length}, ${known.length} answers):`,
        ...knownDifferences.flatMap((k) => [`  ${k.operationId} ${k.status} ${k.pointer}: ${k.reason}`, ...seenOf(k).map((x) => `    seen: ${x}`)]),
        `lists that were always empty (items unchecked): ${onlyEmpty.join(', ') || 'none'}`,
        `calls that did not answer as driven (${failedCalls.length}):`,
        ...failedCalls.map((f) => `  ${f}`),
        `mismatches (${mismatches.length}):`,
        ...mismatches.map(line),
        `not implemented (${unserved.length}):`,
        ...unserved.map((u) => `  ${u}`),
        `Wharf routes under /api/v2.0 that the swagger does not have (${extensions.length}): ${extensions.join(', ')}`,
      ].join('\n'),
    );
    assert.deepEqual(failedCalls, [], 'calls that did not answer as driven');
    assert.deepEqual(unlisted, [], 'served operations without a call in the contract test');
    assert.deepEqual(unexercised, [], 'served operations the contract test did not call');
    assert.deepEqual(mismatches.map(line), [], 'answers that differ from the swagger');
    assert.deepEqual(unusedKnown, [], 'known differences that no longer happen: remove them');
  });
});
