/**
 * Debian's CNCF registry (`docker-registry`, distribution 2.8) started on loopback for a test:
 * a temporary storage folder, deletes enabled, optionally htpasswd Basic auth with a fixed user.
 * `stop()` kills it (the storage stays until `remove()`), `restart()` starts it again on the same
 * port and storage (an upstream that goes away and comes back).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './wharf.ts';
import { e2eRequired } from './skopeo.ts';

export const cncfBinary = '/usr/bin/docker-registry';
/** The htpasswd user of an authenticated registry; the bcrypt hash (cost 4) of its password is fixed below. */
export const cncfUser = 'regbot';
export const cncfSecret = 'Regpass-7c1e9';
const cncfHash = '$2b$04$tgVOElcrgLq8fJp20IIJEe6Hoz1a.KwM7GJ3NpOdN3IUWEf7nSm7S';

/** A skip reason when the binary is missing (and WHARF_REQUIRE_E2E is not set), else false. */
export const skipWithoutCncf: string | false =
  spawnSync(cncfBinary, ['--version'], { stdio: 'ignore' }).status !== 0 && !e2eRequired()
    ? `${cncfBinary} is not installed (apt-get install -y docker-registry); set WHARF_REQUIRE_E2E=1 to fail instead`
    : false;

/** A running CNCF registry. */
export interface CncfRegistry {
  url: string;
  /** `127.0.0.1:<port>`, as skopeo names it. */
  host: string;
  dir: string;
  /** The running process's id (0 when stopped). */
  pid(): number;
  /** Kills the process (SIGKILL); the storage stays. */
  stop(): Promise<void>;
  /** Starts it again on the same port and storage. */
  restart(): Promise<void>;
  /** Stops it and deletes its folder. */
  remove(): Promise<void>;
}

/**
 * Waits until the registry answers `/v2/` as this one does: 200 without auth, 401 with the
 * `wharf-test` realm with it (so another server that took the port meanwhile does not count).
 */
async function waitFor(url: string, proc: ChildProcess, auth: boolean): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    if (proc.exitCode !== null) throw new Error(`docker-registry exited with ${proc.exitCode}`);
    try {
      const r = await fetch(url);
      await r.arrayBuffer();
      const ours = auth ? r.status === 401 && (r.headers.get('www-authenticate') ?? '').includes('realm="wharf-test"') : r.status === 200;
      if (ours) return;
    } catch {
      /* not listening yet */
    }
    if (Date.now() > deadline) throw new Error(`${url} did not answer in time`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Starts a CNCF registry on 127.0.0.1; with `auth`, htpasswd Basic auth for {@link cncfUser};
 * with `notifyUrl`, one notifications endpoint posting its event envelopes there.
 */
export async function startCncf(opts: { auth?: boolean; notifyUrl?: string } = {}): Promise<CncfRegistry> {
  const dir = mkdtempSync(join(tmpdir(), 'wharf-cncf-'));
  const auth = opts.auth === true;
  if (auth) writeFileSync(join(dir, 'htpasswd'), `${cncfUser}:${cncfHash}\n`);
  const configFor = (port: number): void => {
    const lines = [
      'version: 0.1',
      'log:',
      '  level: error',
      '  accesslog:',
      '    disabled: true',
      'storage:',
      '  filesystem:',
      `    rootdirectory: ${join(dir, 'storage')}`,
      '  delete:',
      '    enabled: true',
    ];
    if (auth) lines.push('auth:', '  htpasswd:', '    realm: wharf-test', `    path: ${join(dir, 'htpasswd')}`);
    if (opts.notifyUrl) lines.push('notifications:', '  endpoints:', '    - name: wharf-test', `      url: ${opts.notifyUrl}`, '      timeout: 2s', '      threshold: 3', '      backoff: 1s');
    lines.push('http:', `  addr: 127.0.0.1:${port}`, '  secret: wharf-test-not-a-secret', '');
    writeFileSync(join(dir, 'config.yml'), lines.join('\n'));
  };
  let port = 0;
  let proc: ChildProcess | undefined;
  const start = async (): Promise<void> => {
    proc = spawn(cncfBinary, ['serve', join(dir, 'config.yml')], { stdio: 'ignore' });
    await waitFor(`http://127.0.0.1:${port}/v2/`, proc, auth);
  };
  const stop = async (): Promise<void> => {
    const p = proc;
    proc = undefined;
    if (!p || p.exitCode !== null) return;
    await new Promise<void>((r) => {
      p.once('exit', () => r());
      p.kill('SIGKILL');
    });
  };
  // The free port is released before docker-registry binds it: another process may take it
  // meanwhile, and then this registry exits at once. Try another port then.
  for (let attempt = 1; ; attempt++) {
    port = await freePort();
    configFor(port);
    try {
      await start();
      break;
    } catch (err) {
      await stop();
      if (attempt >= 3) throw err;
    }
  }
  return {
    url: `http://127.0.0.1:${port}`,
    host: `127.0.0.1:${port}`,
    dir,
    pid: () => proc?.pid ?? 0,
    stop,
    restart: start,
    async remove() {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
