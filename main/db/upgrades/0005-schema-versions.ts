/**
 * Store format 4 → 5: collections keep schema versions (versions.ts). Every collection's schema, as
 * format 4 stored it in `schemas`, becomes its first version record in the `versions` sublevel
 * (`collectionID!collectionID`): the first version's ID is the collection ID, which every block of
 * format 4 already names as its `schema`, so no block or document record changes.
 */
import { firstVersionID, type SchemaVersion } from '../versions.ts'
import type { UpgradeStep } from './step.ts'

export const step: UpgradeStep = {
  from: 4,
  to: 5,
  describe: "collections keep schema versions: each collection's schema becomes its first version",
  async run(ctx) {
    const { store } = ctx
    const collections = await store.schemas.values().all()
    const txn = ctx.txn()
    let done = 0
    for (const c of collections) {
      const key = `${c.id}!${c.id}`
      if ((await txn.get(store.versions, key)) === undefined) {
        const v: SchemaVersion = { id: firstVersionID(c.id), collection: c.id, parents: [], name: c.name, fields: c.schema.fields, time: c.createdAt }
        txn.put(store.versions, key, v)
      }
      ctx.progress(++done, collections.length)
    }
    await txn.commit()
    ctx.log(`schema versions: ${collections.length} collection${collections.length === 1 ? '' : 's'} given their first version`)
  },
}
