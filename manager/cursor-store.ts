// Where a Manager keeps its outcomes cursor between runs, so a restart does not replay old outcomes.
// One small JSON file holds the cursors of every server, by server URL.
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import path from 'node:path';

export interface CursorStore {
  load(): string | undefined;
  save(cursor: string): void;
}

export function fileCursorStore(file: string, serverUrl: string): CursorStore {
  const readAll = (): Record<string, string> => {
    try {
      const json = JSON.parse(readFileSync(file, 'utf8')) as unknown;
      return json && typeof json === 'object' ? (json as Record<string, string>) : {};
    } catch {
      return {};
    }
  };
  return {
    load: () => {
      const cursor = readAll()[serverUrl];
      return typeof cursor === 'string' ? cursor : undefined;
    },
    save: (cursor) => {
      mkdirSync(path.dirname(file), { recursive: true });
      const tmp = `${file}.${process.pid}.tmp`;
      // Written aside and renamed: a crash mid-write leaves the old file whole.
      writeFileSync(tmp, JSON.stringify({ ...readAll(), [serverUrl]: cursor }));
      renameSync(tmp, file);
    },
  };
}
