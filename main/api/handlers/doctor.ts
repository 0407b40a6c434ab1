import { withConflictCounts } from './documents.ts'
import type { Handlers } from '../context.ts'

export const doctor: Handlers<'doctor.report' | 'sync.status'> = {
  'doctor.report': ({ node }, input) => node.doctor({ ping: input?.ping }),
  'sync.status': async ({ node }) => withConflictCounts(node, await node.syncStatusReport()),
}
