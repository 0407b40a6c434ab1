// Stands in for `got` inside electronegativity during tests: it would fetch translations and
// Electron's release list from the internet, and tests send traffic to loopback only.
function offline() {
  return Promise.reject(new Error('no network in tests'))
}
offline.head = offline
offline.get = offline
module.exports = offline
module.exports.default = offline
globalThis.__tandemOfflineGotCalls = 0
const counted = () => { globalThis.__tandemOfflineGotCalls++; return offline() }
counted.head = counted
counted.get = counted
module.exports = counted
module.exports.default = counted
