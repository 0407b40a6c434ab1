/** Go offline (edits go on here and are sent later) or back online. */
import type { NodeInfo } from '../../../shared/api/index.ts'
import { api } from '../bridge/current.ts'
import { ErrorText } from '../common/ErrorText.tsx'
import { useAction } from '../common/use-action.ts'
import { useTandem } from '../store/store.ts'

export function NetworkToggle({ node }: { node: NodeInfo }) {
  const { busy, error, act } = useAction(async () => {
    useTandem.setState({ node: await api().call(node.paused ? 'network.resume' : 'network.pause') })
  })
  if (node.network === 'off') {
    return <section className="card"><h2>Network</h2><p className="muted">This node was started without the network (--no-p2p).</p></section>
  }
  return (
    <section className="card" aria-labelledby="network">
      <h2 id="network">Network</h2>
      <div className="row">
        <p>
          {node.paused
            ? 'Offline: changes made here are kept and sent when you go online.'
            : `Online: ${node.connectedDevices} of your devices connected.`}
        </p>
        <button type="button" className={node.paused ? 'primary' : ''} disabled={busy} onClick={() => void act()}>
          {node.paused ? 'Go online' : 'Go offline'}
        </button>
      </div>
      <ErrorText error={error} />
    </section>
  )
}
