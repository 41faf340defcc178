/**
 * The registry's immutability port: which tags of a project are immutable (Harbor's tag
 * immutability rules). The registry declares it and enforces it — a manifest PUT over an existing
 * immutable tag, a tag delete, an artifact delete carrying such a tag, and an API tag create over
 * one are refused with IMMUTABLE_TAG and Harbor's messages; lifecycle implements it
 * (src/lifecycle/immutability/); main.ts wires them (RegistryDeps.immutability).
 * A project without enabled rules answers null from a cache, so pushes there pay one map lookup.
 */
import { fail, type DomainError } from '../domain/index.ts';

/** True when `tag` of `repository` (the path without the project, `a/b` of `lib/a/b`) is immutable. */
export type ImmutableTagTest = (repository: string, tag: string) => boolean;

/** The port (RegistryDeps.immutability); absent means no tag is immutable. */
export interface ImmutabilityGuard {
  /** The project's test, or null when the project has no enabled rule. */
  immutableTags(projectId: number): Promise<ImmutableTagTest | null>;
}

/** The repository path without its project, as Harbor's selectors see it. */
export function pathInProject(repository: string): string {
  const slash = repository.indexOf('/');
  return slash < 0 ? repository : repository.slice(slash + 1);
}

/** Harbor's refusal of a manifest PUT over an immutable tag (412 PRECONDITION under /v2). */
export function immutablePushError(repository: string, tag: string): DomainError {
  return fail('IMMUTABLE_TAG', `Failed to process request due to '${pathInProject(repository)}:${tag}' configured as immutable.`, { tag });
}

/** Harbor's refusal of deleting an immutable tag, or an artifact carrying one. */
export function immutableDeleteError(tag: string): DomainError {
  return fail('IMMUTABLE_TAG', `the tag ${tag} configured as immutable, cannot be deleted`, { tag });
}

/** Harbor's refusal of moving an immutable tag to another artifact through the API. */
export function immutableUpdateError(tag: string): DomainError {
  return fail('IMMUTABLE_TAG', `the tag ${tag} configured as immutable, cannot be updated`, { tag });
}
