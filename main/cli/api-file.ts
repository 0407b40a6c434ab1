/**
 * `<data-dir>/api.json`: where the running node's API listens and its token, mode 0600 so only
 * this OS user can read it. Written once the node is up, removed when it stops cleanly.
 */
import { chmod, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { z } from 'zod'
import { TandemError } from '../../shared/errors.ts'

export const API_FILE = 'api.json'

const ApiFile = z.object({ address: z.string().min(1).max(300), token: z.string().min(1).max(300), pid: z.number().int().optional() })
export type ApiFile = z.infer<typeof ApiFile>

export async function writeApiFile(dataDir: string, info: ApiFile): Promise<void> {
  const path = join(dataDir, API_FILE)
  const tmp = `${path}.${process.pid}.tmp`
  await writeFile(tmp, `${JSON.stringify(info, null, 2)}\n`, { mode: 0o600 })
  await chmod(tmp, 0o600)
  await rename(tmp, path)
}

export async function removeApiFile(dataDir: string): Promise<void> {
  await rm(join(dataDir, API_FILE), { force: true })
}

export async function readApiFile(dataDir: string): Promise<ApiFile> {
  const path = join(dataDir, API_FILE)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch {
    throw new TandemError('UNREACHABLE', `No Tandem node is running on ${dataDir} (no ${API_FILE}): start one with \`tandem start --data-dir ${dataDir}\`.`)
  }
  try {
    return ApiFile.parse(JSON.parse(text))
  } catch {
    throw new TandemError('DATA_DIR_INVALID', `${path} is not what \`tandem start\` writes; remove it and restart the node.`)
  }
}
