/** Identity and access: actors, authentication, the authorizer. */
export * from './actor.ts';
export * from './authorizer.ts';
export * from './authenticator.ts';
export * from './principals.ts';
