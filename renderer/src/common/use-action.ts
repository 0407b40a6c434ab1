/** Runs a call from a button: busy while it runs, the error in words if it fails. */
import { useCallback, useState } from 'react'
import { humanError } from './human-error.ts'

export function useAction<A extends unknown[]>(run: (...args: A) => Promise<unknown>) {
  const [busy, setBusy] = useState(false)
  const [error, setError] = useState<string | null>(null)
  const act = useCallback(async (...args: A): Promise<boolean> => {
    setBusy(true)
    setError(null)
    try {
      await run(...args)
      return true
    } catch (err) {
      setError(humanError(err))
      return false
    } finally {
      setBusy(false)
    }
  }, [run])
  return { busy, error, setError, act }
}
