import { StrictMode } from 'react'
import { createRoot } from 'react-dom/client'
import { NoBridge, Window } from './App.tsx'
import { pickBridge } from './bridge/pick.ts'
import { setBridge } from './bridge/current.ts'
import { startLive } from './store/live.ts'
import './app.css'

const root = document.getElementById('root')
if (root === null) throw new Error('index.html has no #root element')

const bridge = pickBridge()
if (bridge !== null) {
  setBridge(bridge)
  startLive(bridge)
}

createRoot(root).render(
  <StrictMode>
    {bridge === null ? <NoBridge /> : <Window />}
  </StrictMode>,
)
