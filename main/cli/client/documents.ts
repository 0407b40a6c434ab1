import type { Command } from 'commander'
import { TandemError } from '../../../shared/errors.ts'
import { action, parseIntArg, parseJSONArg } from './run.ts'

export function documentCommands(client: Command): void {
  const d = client.command('doc').description('Create, read, change and list documents.')
  d.command('create').argument('<collection>').argument('<json>', "one JSON object, or an array of them (one atomic bulk create); '-' reads stdin")
    .description('Create documents; prints {"docID"} (or {"docIDs"} for an array).')
    .action(action(async (api, collection: string, json: string) => {
      const value = parseJSONArg(json, 'document')
      if (Array.isArray(value)) return api.call('documents.createMany', { collection, docs: value as Array<Record<string, unknown>> })
      if (typeof value !== 'object' || value === null) throw new TandemError('INVALID_INPUT', 'A document is a JSON object (or an array of them).')
      return api.call('documents.create', { collection, doc: value as Record<string, unknown> })
    }))
  d.command('get').argument('<collection>').argument('<docID>').description('One document.')
    .action(action((api, collection: string, docID: string) => api.call('documents.get', { collection, docID })))
  d.command('update').argument('<collection>').argument('<docID>').argument('<json>', 'the fields to change, as a JSON object')
    .description('Change some fields of a document; prints it.')
    .action(action((api, collection: string, docID: string, json: string) =>
      api.call('documents.update', { collection, docID, patch: parseJSONArg(json, 'patch') as Record<string, unknown> })))
  d.command('delete').argument('<collection>').argument('<docID>').description('Delete a document (restore brings it back).')
    .action(action((api, collection: string, docID: string) => api.call('documents.delete', { collection, docID })))
  d.command('restore').argument('<collection>').argument('<docID>').description('Restore a deleted document.')
    .action(action((api, collection: string, docID: string) => api.call('documents.restore', { collection, docID })))
  d.command('trash').argument('<collection>').description('Deleted documents (restorable with doc restore); prints {"total", "docs"}.')
    .action(action((api, collection: string) => api.call('documents.list', { collection, deleted: true })))
  d.command('list').argument('<collection>')
    .option('--filter <json>', 'e.g. \'{"pages": {"_gt": 100}, "read": true}\'')
    .option('--sort <field>', 'a field; -field for descending')
    .option('--limit <n>', 'at most this many')
    .option('--offset <n>', 'skip this many')
    .option('--deleted', 'list deleted documents instead')
    .option('--conflicts', 'only documents with conflicting edits')
    .description('List documents; prints {"total", "docs"}.')
    .action(action((api, collection: string, o: { filter?: string; sort?: string; limit?: string; offset?: string; deleted?: boolean; conflicts?: boolean }) =>
      api.call('documents.list', {
        collection,
        ...(o.filter !== undefined ? { filter: parseJSONArg(o.filter, 'filter') as Record<string, unknown> } : {}),
        ...(o.sort !== undefined ? { sort: o.sort } : {}),
        ...(o.limit !== undefined ? { limit: parseIntArg(o.limit, '--limit') } : {}),
        ...(o.offset !== undefined ? { offset: parseIntArg(o.offset, '--offset') } : {}),
        ...(o.deleted === true ? { deleted: true } : {}),
        ...(o.conflicts === true ? { conflicts: true } : {}),
      })))
  d.command('increment').argument('<collection>').argument('<docID>').argument('<field>', 'a counter field (@crdt(type: pncounter|pcounter))')
    .argument('<amount>', 'a number; negative decrements a pncounter')
    .description('Add to a counter; concurrent increments on any devices add up. Prints the document.')
    .action(action((api, collection: string, docID: string, field: string, amount: string) => {
      const n = Number(amount)
      if (amount.trim() === '' || !Number.isFinite(n)) throw new TandemError('INVALID_INPUT', `The amount must be a number, not "${amount}".`)
      return api.call('documents.increment', { collection, docID, field, amount: n })
    }))
  d.command('resolve').argument('<collection>').argument('<docID>').argument('<field>', 'a field in conflict (or _deleted)')
    .requiredOption('--pick <cid|winner>', 'the CID of the value to keep (from doc get\'s conflicts), or "winner"')
    .description('Settle a conflicting field: writes the chosen value as a new change; prints the document.')
    .action(action((api, collection: string, docID: string, field: string, o: { pick: string }) =>
      api.call('documents.resolve', { collection, docID, field, pick: o.pick })))
  d.command('history').argument('<collection>').argument('<docID>')
    .description("A document's changes as DAG nodes: device, time, changed fields, links.")
    .action(action((api, collection: string, docID: string) => api.call('documents.history', { collection, docID })))
}
