/** Collections: the list on the left; the open collection's documents (or one document's history) on the right. */
import { useState } from 'react'
import { useTandem } from '../store/store.ts'
import { CollectionList } from './CollectionList.tsx'
import { CreateCollection } from './CreateCollection.tsx'
import { CollectionPanel } from './CollectionPanel.tsx'

export function CollectionsView() {
  const collections = useTandem((s) => s.collections)
  const route = useTandem((s) => s.route)
  const [creating, setCreating] = useState(false)
  const open = collections.find((c) => c.name === route.collection) ?? null
  return (
    <div className="split">
      <section className="list-pane" aria-label="Collections">
        <header className="pane-head">
          <h1>Collections</h1>
          <button type="button" onClick={() => setCreating(true)}>New collection</button>
        </header>
        <CollectionList collections={collections} openName={open?.name ?? null} />
      </section>
      <section className="detail-pane">
        {creating && <CreateCollection onDone={() => setCreating(false)} />}
        {!creating && open !== null && <CollectionPanel collection={open} historyDoc={route.history ?? null} />}
        {!creating && open === null && (
          <p className="empty">
            {collections.length === 0 ? 'No collections yet. Create one from a GraphQL type, or pair a device that has some.' : 'Choose a collection.'}
          </p>
        )}
      </section>
    </div>
  )
}
