/** Copies text to the clipboard and says so for a moment. */
import { useState } from 'react'

export function CopyButton({ text, label }: { text: string; label: string }) {
  const [state, setState] = useState<'idle' | 'copied' | 'failed'>('idle')
  const copy = (): void => {
    navigator.clipboard.writeText(text).then(() => setState('copied'), () => setState('failed'))
    setTimeout(() => setState('idle'), 2000)
  }
  return (
    <button type="button" className="small" aria-label={label} onClick={copy}>
      {state === 'copied' ? 'Copied' : state === 'failed' ? 'Select and copy' : 'Copy'}
    </button>
  )
}
