/** This device: who it is, where it listens, invites, joining a group, and going offline/online. */
import { useTandem } from '../store/store.ts'
import { DeviceIdentity } from './DeviceIdentity.tsx'
import { NetworkToggle } from './NetworkToggle.tsx'
import { InviteCard } from './InviteCard.tsx'
import { JoinCard } from './JoinCard.tsx'
import { BackupCard } from '../backup/BackupCard.tsx'

export function ThisDeviceView() {
  const node = useTandem((s) => s.node)
  if (node === null) return <p className="muted">Loading…</p>
  return (
    <div className="stack">
      <h1>This device</h1>
      <DeviceIdentity node={node} />
      <NetworkToggle node={node} />
      <div className="two">
        <InviteCard />
        <JoinCard />
      </div>
      <BackupCard />
    </div>
  )
}
