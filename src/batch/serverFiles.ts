/** Folders and files of a rollout on a Jupyter server, through its contents API (nothing assumed local). */
import { ContentsManager, ServerConnection } from '@jupyterlab/services';

/** Create `folder` (and its parents) on the server, then each of `files` (server path → bytes) under it. */
export async function uploadFiles(settings: ServerConnection.ISettings, folder: string, files: ReadonlyMap<string, Uint8Array>): Promise<void> {
  const contents = new ContentsManager({ serverSettings: settings });
  try {
    const made = new Set<string>();
    const makeFolder = async (path: string) => {
      const parts = path.split('/').filter(Boolean);
      for (let depth = 1; depth <= parts.length; depth++) {
        const prefix = parts.slice(0, depth).join('/');
        if (!made.has(prefix)) {
          made.add(prefix);
          await contents.save(prefix, { type: 'directory' }).catch(async error => {
            // Another rollout made it at the same moment (the server answers "File exists"): fine if it is a folder.
            const existing = await contents.get(prefix, { content: false }).catch(() => null);
            if (existing?.type !== 'directory') {
              throw error;
            }
          });
        }
      }
    };
    await makeFolder(folder);
    for (const [path, bytes] of files) {
      const target = `${folder}/${path}`;
      await makeFolder(target.split('/').slice(0, -1).join('/'));
      await contents.save(target, { type: 'file', format: 'base64', content: Buffer.from(bytes).toString('base64') });
    }
  } finally {
    contents.dispose();
  }
}

/** Delete the file at `path` on the server when there is one (a rollout run again starts from an empty notebook). */
export async function removeFile(settings: ServerConnection.ISettings, path: string): Promise<void> {
  const contents = new ContentsManager({ serverSettings: settings });
  try {
    await contents.delete(path).catch(() => undefined);
  } finally {
    contents.dispose();
  }
}
