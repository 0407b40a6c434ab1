import { withConflictCounts } from './documents.ts'
import type { Handlers } from '../context.ts'
import { lastSnapshot } from '../../db/backup/schedule.ts'

export const doctor: Handlers<'doctor.report' | 'sync.status'> = {
  'doctor.report': ({ node }, input) => node.doctor({ ping: input?.ping }),
  'sync.status': async ({ node }) => ({ ...(await withConflictCounts(node, await node.syncStatusReport())), lastSnapshot: (await lastSnapshot(node.db)) ?? null }),
}
