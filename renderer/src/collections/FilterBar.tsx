/** One condition on one field (the contract's filter operators), applied on submit. */
import { useState, type FormEvent } from 'react'
import type { FieldSchema } from '../../../shared/types.ts'
import { fromText } from './field-value.ts'

export interface Filter { field: string; op: string; value: unknown }

const OPS: Array<[string, string]> = [['_eq', '='], ['_ne', '≠'], ['_gt', '>'], ['_gte', '≥'], ['_lt', '<'], ['_lte', '≤']]

export function FilterBar({ fields, filter, onChange }: { fields: FieldSchema[]; filter: Filter | null; onChange: (f: Filter | null) => void }) {
  const [field, setField] = useState(fields[0]?.name ?? '')
  const [op, setOp] = useState('_eq')
  const [text, setText] = useState('')
  const submit = (e: FormEvent): void => {
    e.preventDefault()
    const schema = fields.find((f) => f.name === field)
    if (schema === undefined) return
    const parsed = fromText(schema, text)
    onChange({ field, op, value: parsed.ok ? parsed.value : text })
  }
  return (
    <form className="filter" role="search" aria-label="Filter documents" onSubmit={submit}>
      <select aria-label="Filter field" value={field} onChange={(e) => setField(e.target.value)}>
        {fields.map((f) => <option key={f.name} value={f.name}>{f.name}</option>)}
      </select>
      <select aria-label="Filter operator" value={op} onChange={(e) => setOp(e.target.value)}>
        {OPS.map(([value, sign]) => <option key={value} value={value}>{sign}</option>)}
      </select>
      <input aria-label="Filter value" value={text} onChange={(e) => setText(e.target.value)} placeholder="value" />
      <button type="submit">Filter</button>
      {filter !== null && <button type="button" onClick={() => { setText(''); onChange(null) }}>Clear filter</button>}
    </form>
  )
}
