/** Define collections from GraphQL SDL; the node's complaint shows right under the text. */
import { useState, type FormEvent } from 'react'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { loaders, useTandem } from '../store/store.ts'

const EXAMPLE = 'type Books {\n  title: String!\n  author: String\n  year: Int\n}'

export function CreateCollection({ onDone }: { onDone: () => void }) {
  const [sdl, setSdl] = useState('')
  const navigate = useTandem((s) => s.navigate)
  const { busy, error, act } = useAction(async () => {
    const created = await api().call('collections.add', { sdl })
    await loaders.collections()
    onDone()
    if (created[0] !== undefined) navigate({ section: 'collections', collection: created[0].name })
  })
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    void act()
  }
  return (
    <form className="card" onSubmit={submit} aria-label="New collection">
      <h2>New collection</h2>
      <p className="muted small">Describe it as a GraphQL type: scalars String, Int, Float, Boolean, DateTime, JSON; <code>!</code> for required, <code>[T]</code> for a list.</p>
      <label className="field">
        <span>Schema (SDL)</span>
        <textarea
          className="code"
          rows={8}
          value={sdl}
          placeholder={EXAMPLE}
          spellCheck={false}
          aria-invalid={error !== null}
          onChange={(e) => setSdl(e.target.value)}
        />
      </label>
      <ErrorText error={error} />
      <div className="actions">
        <button type="submit" className="primary" disabled={busy || sdl.trim() === ''}>Create collection</button>
        <button type="button" onClick={onDone}>Cancel</button>
      </div>
    </form>
  )
}
