/** Identity and access: actors, authentication, the authorizer. */
export * from './actor.ts';
export * from './authorizer.ts';
export * from './authenticator.ts';
export * from './principals.ts';
export * from './users.ts';
export * from './tokens.ts';
export * from './login-limiter.ts';
export * from './audit-trail.ts';
export * from './members.ts';
export * from './user-groups.ts';
export * from './robots.ts';
export * from './scanner-credential.ts';
export * from './sessions.ts';
export * from './ldap-service.ts';
