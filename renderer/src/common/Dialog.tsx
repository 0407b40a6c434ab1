/** A modal dialog on the native <dialog> (focus trap and Escape come with it). */
import { useEffect, useRef, type ReactNode } from 'react'

export function Dialog({ title, onClose, children }: { title: string; onClose: () => void; children: ReactNode }) {
  const ref = useRef<HTMLDialogElement>(null)
  useEffect(() => {
    const d = ref.current
    if (d !== null && !d.open) d.showModal()
  }, [])
  return (
    <dialog ref={ref} className="dialog" aria-label={title} onClose={onClose} onCancel={onClose}>
      <header className="dialog-head">
        <h2>{title}</h2>
        <button type="button" className="ghost" aria-label="Close" onClick={onClose}>✕</button>
      </header>
      {children}
    </dialog>
  )
}
