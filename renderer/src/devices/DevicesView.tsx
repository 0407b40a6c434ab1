/** Devices & peers: this group's devices, pairing requests, devices nearby, and every other peer. */
import { useTandem } from '../store/store.ts'
import { GroupDevices } from './GroupDevices.tsx'
import { PairingRequests } from './PairingRequests.tsx'
import { NearbyDevices } from './NearbyDevices.tsx'
import { OtherPeers } from './OtherPeers.tsx'

export function DevicesView() {
  const requests = useTandem((s) => s.requests)
  return (
    <div className="stack">
      <h1>Devices &amp; peers</h1>
      {requests.length > 0 && <PairingRequests requests={requests} />}
      <GroupDevices />
      <NearbyDevices />
      <OtherPeers />
    </div>
  )
}
