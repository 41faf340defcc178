/**
 * Who is signed in: `GET /api/v2.0/users/current` with the session cookie. The provider loads it
 * once, offers sign-in and sign-out, and drops the user when any API call answers 401 (the
 * session expired), which sends the browser to the sign-in page.
 */
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from 'react';
import { get, onUnauthorized, signIn as apiSignIn, signOut as apiSignOut } from './api.ts';

/** Harbor's current user (the fields the console reads). */
export interface CurrentUser {
  user_id: number;
  username: string;
  email?: string;
  realname?: string;
  sysadmin_flag: boolean;
}

interface SessionState {
  user: CurrentUser | null;
  /** True until the first check finished. */
  checking: boolean;
  signIn(principal: string, password: string): Promise<void>;
  signOut(): Promise<void>;
}

const SessionContext = createContext<SessionState | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [user, setUser] = useState<CurrentUser | null>(null);
  const [checking, setChecking] = useState(true);
  const refresh = useCallback(async () => {
    try {
      setUser(await get<CurrentUser>('/users/current'));
    } catch {
      setUser(null);
    } finally {
      setChecking(false);
    }
  }, []);
  useEffect(() => {
    void refresh();
    return onUnauthorized(() => setUser(null));
  }, [refresh]);
  const signIn = useCallback(
    async (principal: string, password: string) => {
      await apiSignIn(principal, password);
      await refresh();
    },
    [refresh],
  );
  const signOut = useCallback(async () => {
    await apiSignOut();
    setUser(null);
  }, []);
  return <SessionContext.Provider value={{ user, checking, signIn, signOut }}>{children}</SessionContext.Provider>;
}

/** The session; only inside SessionProvider. */
export function useSession(): SessionState {
  const s = useContext(SessionContext);
  if (!s) throw new Error('useSession outside SessionProvider');
  return s;
}
