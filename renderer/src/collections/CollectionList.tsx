/** Every collection with its count of live documents. */
import type { CollectionInfo } from '../../../shared/types.ts'
import { useTandem } from '../store/store.ts'

export function CollectionList({ collections, openName }: { collections: CollectionInfo[]; openName: string | null }) {
  const navigate = useTandem((s) => s.navigate)
  if (collections.length === 0) return <p className="muted small">None yet.</p>
  return (
    <ul className="collection-list">
      {collections.map((c) => (
        <li key={c.id}>
          <button
            type="button"
            className={c.name === openName ? 'collection current' : 'collection'}
            aria-current={c.name === openName ? 'true' : undefined}
            aria-label={`${c.name}, ${c.count} ${c.count === 1 ? 'document' : 'documents'}`}
            onClick={() => navigate({ section: 'collections', collection: c.name })}
          >
            <span>{c.name}</span>
            <span className="count" data-testid={`count-${c.name}`}>{c.count}</span>
          </button>
        </li>
      ))}
    </ul>
  )
}
