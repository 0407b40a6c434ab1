/**
 * A data directory is this OS user's alone: its LevelDB files hold every document and the group
 * secret. Tandem makes the directory it creates 0700, and also one that already existed with looser
 * modes (a pre-made `--data-dir` under umask 022 was left 0755, its files 0644); files LevelDB
 * creates from now on get 0600 through a umask of 077 for this process.
 */
import { chmod, mkdir, readdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { isMainThread } from 'node:worker_threads'
import { TandemError } from '../../shared/errors.ts'

const LOOSE = 0o077

/** Creates `dir` (0700) or tightens it and what it holds; throws DATA_DIR_INVALID when it cannot. */
export async function privateDataDir(dir: string): Promise<void> {
  // Windows has no POSIX modes: its ACLs on the user's profile folders already do this job.
  if (process.platform === 'win32') {
    await mkdir(dir, { recursive: true })
    return
  }
  // Before anything is created, so no file of ours is ever born readable by others. Worker
  // threads may not change the umask (and create no files of ours).
  if (isMainThread) process.umask(process.umask() | LOOSE)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
  } catch (err) {
    throw new TandemError('DATA_DIR_INVALID', `The data directory ${dir} cannot be created: ${(err as Error).message}`)
  }
  try {
    await tighten(dir, 0o700)
  } catch (err) {
    throw new TandemError('DATA_DIR_INVALID',
      `The data directory ${dir} can be read by other users of this machine and Tandem cannot change that ` +
      `(${(err as Error).message}). Fix it with \`chmod -R go-rwx ${dir}\`, or choose another --data-dir.`)
  }
}

/** chmod what is looser than private: directories to 0700, files to 0600, all the way down. */
async function tighten(path: string, dirMode: number): Promise<void> {
  const info = await stat(path)
  if (info.isDirectory()) {
    if ((info.mode & LOOSE) !== 0) await chmod(path, dirMode)
    for (const name of await readdir(path)) await tighten(join(path, name), dirMode)
  } else if (info.isFile() && (info.mode & LOOSE) !== 0) {
    await chmod(path, info.mode & 0o700)
  }
}
