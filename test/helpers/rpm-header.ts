/**
 * Writes rpm header blobs as rpmdb.sqlite stores them (no 8-byte magic): il, dl, the index
 * entries, then the data, with the HEADER_IMMUTABLE region entry first as rpm writes it; and a
 * real SQLite rpmdb file holding them.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import SQLite from 'better-sqlite3';

export interface RpmFields {
  name: string;
  version: string;
  release: string;
  epoch?: number;
  license?: string;
  arch?: string;
  sourceRpm?: string;
}

const STRING = 6;
const INT32 = 4;
const BIN = 7;
const I18NSTRING = 9;

export function rpmHeaderBlob(fields: RpmFields): Buffer {
  const entries: Array<{ tag: number; type: number; count: number; data: Buffer }> = [];
  const str = (tag: number, value: string, type = STRING): void => {
    entries.push({ tag, type, count: 1, data: Buffer.from(`${value}\0`) });
  };
  str(1000, fields.name);
  str(1001, fields.version);
  str(1002, fields.release);
  if (fields.epoch !== undefined) {
    const b = Buffer.alloc(4);
    b.writeInt32BE(fields.epoch);
    entries.push({ tag: 1003, type: INT32, count: 1, data: b });
  }
  if (fields.license !== undefined) str(1014, fields.license);
  str(1004, `${fields.name} summary`, I18NSTRING);
  if (fields.arch !== undefined) str(1022, fields.arch);
  if (fields.sourceRpm !== undefined) str(1044, fields.sourceRpm);

  const il = entries.length + 1; // + the region tag
  const parts: Buffer[] = [];
  const index: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    if (e.type === INT32) {
      const pad = (4 - (offset % 4)) % 4;
      if (pad) parts.push(Buffer.alloc(pad));
      offset += pad;
    }
    const entry = Buffer.alloc(16);
    entry.writeUInt32BE(e.tag, 0);
    entry.writeUInt32BE(e.type, 4);
    entry.writeInt32BE(offset, 8);
    entry.writeUInt32BE(e.count, 12);
    index.push(entry);
    parts.push(e.data);
    offset += e.data.length;
  }
  // The region trailer: an entry copy whose offset is minus the index size.
  const trailer = Buffer.alloc(16);
  trailer.writeUInt32BE(63, 0);
  trailer.writeUInt32BE(BIN, 4);
  trailer.writeInt32BE(-(il * 16), 8);
  trailer.writeUInt32BE(16, 12);
  const region = Buffer.alloc(16);
  region.writeUInt32BE(63, 0);
  region.writeUInt32BE(BIN, 4);
  region.writeInt32BE(offset, 8);
  region.writeUInt32BE(16, 12);
  parts.push(trailer);
  const data = Buffer.concat(parts);
  const head = Buffer.alloc(8);
  head.writeUInt32BE(il, 0);
  head.writeUInt32BE(data.length, 4);
  return Buffer.concat([head, region, ...index, data]);
}

/** The bytes of a real SQLite rpmdb holding `packages` (rpm's own schema for the table). */
export function rpmdbSqlite(packages: readonly RpmFields[], opts: { wal?: boolean } = {}): Buffer {
  const dir = mkdtempSync(join(tmpdir(), 'rpmdb-'));
  try {
    const file = join(dir, 'rpmdb.sqlite');
    const db = new SQLite(file);
    if (opts.wal) db.pragma('journal_mode = WAL');
    db.exec('CREATE TABLE Packages (hnum INTEGER PRIMARY KEY AUTOINCREMENT, blob BLOB NOT NULL)');
    const insert = db.prepare('INSERT INTO Packages (blob) VALUES (?)');
    for (const p of packages) insert.run(rpmHeaderBlob(p));
    db.close();
    return readFileSync(file);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
