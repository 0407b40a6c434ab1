/** Remove a device from the group, after a confirmation that says what it means. */
import { useState } from 'react'
import { api } from '../bridge/current.ts'
import { Dialog } from '../common/Dialog.tsx'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { loaders } from '../store/store.ts'

export function RemoveDevice({ peerID, name }: { peerID: string; name: string }) {
  const [asking, setAsking] = useState(false)
  const { busy, error, act } = useAction(async () => {
    await api().call('devices.remove', { peerID })
    await loaders.devices()
    setAsking(false)
  })
  return (
    <>
      <button type="button" className="small danger" aria-label={`Remove ${name}`} onClick={() => setAsking(true)}>Remove</button>
      {asking && (
        <Dialog title={`Remove ${name}?`} onClose={() => setAsking(false)}>
          <p>{name} will no longer sync with your devices, and it cannot read changes made from now on. What it already has stays on it.</p>
          <ErrorText error={error} />
          <div className="actions">
            <button type="button" className="danger" disabled={busy} onClick={() => void act()}>Remove device</button>
            <button type="button" onClick={() => setAsking(false)}>Cancel</button>
          </div>
        </Dialog>
      )}
    </>
  )
}
