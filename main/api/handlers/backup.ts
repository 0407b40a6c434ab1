import type { ApiContext, Handlers } from '../context.ts'
import { exportCar, exportJson, importBackup, type BackupContext } from '../../db/backup/index.ts'
import type { TandemNode } from '../../node/tandem-node.ts'

/** What a backup needs of the node: its database, names from the group, progress as API events. */
export function backupContext(node: TandemNode, progress?: BackupContext['progress']): BackupContext {
  return {
    db: node.db,
    deviceName: node.group.name,
    nameOf: (id) => node.group.get(id)?.name ?? '',
    ...(progress !== undefined ? { progress } : {}),
  }
}

function withEvents(ctx: ApiContext): BackupContext {
  return backupContext(ctx.node, (p) => ctx.emit('backup:progress', p))
}

export const backup: Handlers<'backup.export' | 'backup.import'> = {
  'backup.export': (ctx, { path, format, collections }) =>
    (format === 'json' ? exportJson : exportCar)(withEvents(ctx), path, collections),
  'backup.import': (ctx, { path, trustAuthors }) =>
    importBackup(withEvents(ctx), path, { trustAuthors: trustAuthors === true, isMember: (id) => ctx.node.group.has(id) }),
}
