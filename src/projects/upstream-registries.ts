/**
 * The port through which projects learn about registry endpoints (Harbor's /registries, owned by
 * replication): a proxy-cache project names one by `registry_id`, and its type must be one the
 * proxy cache can pull from. Projects declare it, main.ts implements it, so projects never import
 * replication.
 */

/** Registry endpoints, as project creation needs them. */
export interface UpstreamRegistries {
  /** The adapter type of endpoint `id` (`harbor`, `docker-registry`), or null when there is none. */
  type(id: number): Promise<string | null>;
}

/** The endpoint types a proxy-cache project may cache (Harbor's permitted list, as far as Wharf has adapters). */
export const proxyCacheRegistryTypes: readonly string[] = ['harbor', 'docker-registry'];

/** What the proxy cache needs to know of a project (src/projects/project-admin.ts `proxyCacheOf`). */
export interface ProxyCacheProject {
  projectId: number;
  /** The upstream registry endpoint. */
  registryId: number;
  /** `proxy_speed_kb`: the upstream bandwidth in KB/s; 0 or less is unlimited. */
  speedKBs: number;
  /** `proxy_cache_local_on_not_found`: serve the cached copy when the upstream says it has no such manifest. */
  localOnNotFound: boolean;
}
