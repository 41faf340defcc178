/** Harbor's project model: projects, repositories, artifacts and tags as Harbor's API shows them. */
export { ProjectService, type ProjectDeps } from './project-service.ts';
