/** The Harbor API objects the project pages read (the fields they use), as Wharf serves them (docs/harbor-api.md). */

export interface CveAllowlist {
  id?: number;
  project_id?: number;
  expires_at?: number | null;
  items: Array<{ cve_id: string }>;
}

export interface Project {
  project_id: number;
  name: string;
  owner_name?: string;
  registry_id: number | null;
  creation_time: string;
  update_time: string;
  current_user_role_id: number;
  current_user_role_ids?: number[] | null;
  repo_count: number;
  metadata: Record<string, string | undefined>;
  cve_allowlist?: CveAllowlist;
  storage_limit?: number;
}

export interface Repository {
  id: number;
  project_id: number;
  name: string;
  description: string;
  artifact_count: number;
  pull_count: number;
  creation_time: string;
  update_time: string;
}

export interface Platform {
  architecture?: string;
  os?: string;
  variant?: string;
  'os.version'?: string;
}

export interface Tag {
  id: number;
  name: string;
  push_time: string;
  pull_time: string;
  immutable?: boolean;
}

export interface Label {
  id: number;
  name: string;
  description?: string;
  color?: string;
  scope: 'g' | 'p';
  project_id?: number;
  creation_time?: string;
}

export interface ScanSummary {
  total?: number;
  fixable?: number;
  summary?: Record<string, number> | null;
}

export interface NativeReportSummary {
  report_id?: string;
  scan_status?: string;
  severity?: string;
  duration?: number;
  summary?: ScanSummary | null;
  start_time?: string;
  end_time?: string;
  complete_percent?: number;
  scanner?: { name: string; vendor?: string; version?: string };
}

export interface SbomOverview {
  scan_status?: string;
  sbom_digest?: string;
  start_time?: string;
  end_time?: string;
  report_id?: string;
}

export interface Accessory {
  id: number;
  artifact_id: number;
  subject_artifact_digest?: string;
  size: number;
  digest: string;
  type: string;
  creation_time: string;
}

export interface Reference {
  parent_id: number;
  child_id: number;
  child_digest: string;
  platform?: Platform | null;
}

export interface Artifact {
  id: number;
  type: string;
  media_type: string;
  manifest_media_type: string;
  artifact_type?: string;
  project_id: number;
  repository_id: number;
  repository_name?: string;
  digest: string;
  size: number;
  push_time: string;
  pull_time: string;
  extra_attrs?: { architecture?: string; os?: string; variant?: string; author?: string; created?: string; config?: unknown } | null;
  annotations?: Record<string, string> | null;
  references?: Reference[] | null;
  tags?: Tag[] | null;
  labels?: Label[] | null;
  addition_links?: Record<string, { href: string; absolute?: boolean }> | null;
  accessories?: Accessory[] | null;
  scan_overview?: Record<string, NativeReportSummary> | null;
  sbom_overview?: SbomOverview | null;
}

export interface Vulnerability {
  id: string;
  package: string;
  version: string;
  fix_version?: string;
  severity: string;
  description?: string;
  links?: string[];
  preferred_cvss?: { score_v3?: number | null } | null;
}

export interface Member {
  id: number;
  project_id: number;
  entity_name: string;
  role_name?: string;
  role_id: number;
  entity_id: number;
  entity_type: string;
}

export interface AuditLog {
  id: number;
  username: string;
  resource: string;
  resource_type: string;
  operation: string;
  operation_result?: boolean;
  op_time: string;
}

export interface Scanner {
  uuid: string;
  name: string;
  description?: string;
  url?: string;
  disabled?: boolean;
  is_default?: boolean;
  vendor?: string;
  version?: string;
  adapter?: string;
  health?: string;
  capabilities?: { support_vulnerability?: boolean; support_sbom?: boolean };
}

export interface Registry {
  id: number;
  name: string;
  type: string;
  url: string;
}

export interface Quota {
  id: number;
  hard: { storage?: number };
  used: { storage?: number };
}
