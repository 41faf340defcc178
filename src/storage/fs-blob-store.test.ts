import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { blobStoreSuite } from './blob-store-suite.ts';
import { FsBlobStore } from './fs-blob-store.ts';

blobStoreSuite('fs', async () => {
  const root = await mkdtemp(join(tmpdir(), 'wharf-fs-store-'));
  return { store: new FsBlobStore(root), cleanup: () => rm(root, { recursive: true, force: true }) };
});
