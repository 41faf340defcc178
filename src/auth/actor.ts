/** Who performs an action. Services take an Actor; only src/api knows how it was authenticated. */
export interface Actor {
  /** '' for anonymous. */
  username: string;
  userId: number | null;
  sysadmin: boolean;
}

/** The anonymous caller. */
export const anonymous: Actor = Object.freeze({ username: '', userId: null, sysadmin: false });

/** The actor used for Wharf's own work (gc, first start). */
export const systemActor: Actor = Object.freeze({ username: 'wharf-system', userId: null, sysadmin: true });
