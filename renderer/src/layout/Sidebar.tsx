/** The sections; the current one is marked for screen readers too. */
import { useTandem } from '../store/store.ts'
import type { Section } from '../store/route.ts'

const ITEMS: Array<{ section: Section; label: string }> = [
  { section: 'collections', label: 'Collections' },
  { section: 'devices', label: 'Devices & peers' },
  { section: 'replicators', label: 'Replicators' },
  { section: 'device', label: 'This device' },
  { section: 'doctor', label: 'Doctor' },
]

export function Sidebar() {
  const current = useTandem((s) => s.route.section)
  const navigate = useTandem((s) => s.navigate)
  const name = useTandem((s) => s.node?.deviceName)
  return (
    <nav className="sidebar" aria-label="Sections">
      <div className="brand">
        <span className="brand-name">Tandem</span>
        {name !== undefined && <span className="brand-device" title="This device">{name}</span>}
      </div>
      <ul>
        {ITEMS.map((item) => (
          <li key={item.section}>
            <button
              type="button"
              className={item.section === current ? 'nav current' : 'nav'}
              aria-current={item.section === current ? 'page' : undefined}
              onClick={() => navigate({ section: item.section })}
            >
              {item.label}
            </button>
          </li>
        ))}
      </ul>
    </nav>
  )
}
