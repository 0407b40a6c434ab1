/** The Electron transport: `window.tandem` from the preload. */
import { ApiCallError } from '../../../shared/api/errors.ts'
import type { PreloadApi } from '../../../shared/api/ipc.ts'
import type { Bridge } from './bridge.ts'

export function ipcBridge(preload: PreloadApi): Bridge {
  return {
    async call(name, ...input) {
      const outcome = await preload.call(name, input[0])
      if (!outcome.ok) throw new ApiCallError(outcome.error)
      return outcome.result as never
    },
    subscribe: (listener) => preload.subscribe(listener),
    onLink(listener) {
      listener('up')
      return () => {}
    },
  }
}
