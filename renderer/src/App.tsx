/** The window: sidebar, the current section, and the status bar. */
import { useTandem } from './store/store.ts'
import { Sidebar } from './layout/Sidebar.tsx'
import { StatusBar } from './layout/StatusBar.tsx'
import { CollectionsView } from './collections/CollectionsView.tsx'
import { DevicesView } from './devices/DevicesView.tsx'
import { ReplicatorsView } from './replicators/ReplicatorsView.tsx'
import { ThisDeviceView } from './device/ThisDeviceView.tsx'
import { DoctorView } from './doctor/DoctorView.tsx'
import { HeldNotice } from './views/HeldNotice.tsx'
import { StartingScreen } from './layout/StartingScreen.tsx'

/** The app once the node is ready; until then the starting (or upgrading) screen. */
export function Window() {
  const ready = useTandem((s) => s.status?.state === 'ready')
  return ready ? <App /> : <StartingScreen />
}

export function App() {
  const section = useTandem((s) => s.route.section)
  return (
    <div className="app">
      <Sidebar />
      <main className="content">
        <HeldNotice />
        {section === 'collections' && <CollectionsView />}
        {section === 'devices' && <DevicesView />}
        {section === 'replicators' && <ReplicatorsView />}
        {section === 'device' && <ThisDeviceView />}
        {section === 'doctor' && <DoctorView />}
      </main>
      <StatusBar />
    </div>
  )
}

/** Shown when the page was opened without a way to reach a node (no preload, no token). */
export function NoBridge() {
  return (
    <main className="welcome">
      <h1>Tandem</h1>
      <p>This page needs its node. Open the URL that <code>tandem start --ui</code> printed (it carries the access token).</p>
    </main>
  )
}
