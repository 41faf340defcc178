/**
 * The scanner's registry credential (issue 11): a scan hands the adapter a short-lived token that
 * may only pull the one repository it scans, marked `scanner-pull` (Harbor's permission) so that
 * the `prevent_vul` pull gate lets it through. The token is a registry bearer token issued by
 * TokenService.issueScannerToken; an adapter that wants Basic credentials gets
 * `Basic base64("wharf$scanner:<token>")`, which the Authenticator accepts for that reserved name
 * (`$` is refused in user names, and robot names start `robot$`, so nobody else has it).
 *
 * The caller it stands for is a robot-like actor with no account (`robot.id` 0, which no robot
 * row has): it may pull that repository and nothing else; the Authorizer needs no special rule.
 */
import type { Actor } from './actor.ts';

/** The reserved user name of scanner credentials. */
export const scannerUsername = 'wharf$scanner';
/** The token action that marks a scanner's pull (Harbor's `scanner-pull`). */
export const scannerPullAction = 'scanner-pull';

/** The caller a valid scanner credential for `repository` stands for. */
export function scannerActor(repository: string): Actor {
  const project = repository.split('/')[0] ?? '';
  return {
    kind: 'robot',
    username: scannerUsername,
    userId: null,
    sysadmin: false,
    robot: { id: 0, projectName: project, permissions: [{ namespace: project, resource: 'repository', action: 'pull' }] },
    tokenAccess: new Map([[repository, new Set(['pull', scannerPullAction])]]),
  };
}

/** True for the actor of a scanner credential. */
export function isScannerActor(actor: Actor): boolean {
  return actor.kind === 'robot' && actor.username === scannerUsername && actor.robot?.id === 0;
}

/**
 * True when `actor` is a scanner pulling `repository` with its credential (the `prevent_vul`
 * gate's bypass). Only issueScannerToken grants `scanner-pull`: /service/token never does.
 */
export function isScannerPull(actor: Actor, repository: string): boolean {
  return isScannerActor(actor) && actor.tokenAccess?.get(repository)?.has(scannerPullAction) === true;
}
