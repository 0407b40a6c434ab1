/**
 * Network namespaces for tests that need a real (simulated) network: mDNS, several hosts.
 *
 * Rules this harness keeps (the network rule in README "Test": traffic only to loopback or to
 * namespaces the test made itself):
 * - namespaces are linked only to each other (veth pairs created directly inside them); none gets a
 *   link or a route to the root namespace, so 10.77.x.y addresses exist only inside them;
 * - names are unique per run (`tdm<pid>x<random><suffix>`) and everything is deleted when the test
 *   ends, failed or not; namespaces left by a killed run (its pid gone) are deleted by the next one;
 * - mDNS needs, in each namespace, the veth `up multicast on` and a route for 224.0.0.0/4 on it:
 *   without the route sends fail with ENETUNREACH, the mDNS library swallows it, and nothing is found.
 */
import { execFile, execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { readdirSync, statSync } from 'node:fs'
import { promisify } from 'node:util'

const run = promisify(execFile)
const PREFIX = 'tdm'
const OURS = /^tdm([0-9a-z]+)x[0-9a-f]{4}/
/** A tdm* namespace of unknown origin older than this is treated as left over. */
const STALE_UNKNOWN_MS = 10 * 60_000

type AfterHook = { after: (fn: () => Promise<void> | void) => void }

/** These tests need root (CI runs as root). They fail, never skip, when it is missing. */
export function requireRoot(): void {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) {
    throw new Error(
      'network-namespace tests must run as root (they create namespaces with `ip netns`); ' +
      `this process runs as uid ${process.getuid?.() ?? '?'}. CI runs as root: run the tests as root here too.`,
    )
  }
}

/** Runs `ip ARGS…` and returns its stdout; the error names the command and its stderr. */
export async function ip(...args: string[]): Promise<string> {
  try {
    return (await run('ip', args, { timeout: 10_000 })).stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`ip ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`)
  }
}

/** Runs a command inside a namespace and returns its stdout. */
export async function nsExec(ns: string, cmd: string, args: string[] = [], timeoutMs = 10_000): Promise<string> {
  try {
    return (await run('ip', ['netns', 'exec', ns, cmd, ...args], { timeout: timeoutMs })).stdout
  } catch (err) {
    const e = err as Error & { stderr?: string }
    throw new Error(`in ${ns}: ${cmd} ${args.join(' ')} failed: ${(e.stderr ?? '').trim() || e.message}`)
  }
}

/** Names of all network namespaces (`ip netns list` prints "name (id: n)" per line). */
export async function listNamespaces(): Promise<string[]> {
  const out = await ip('netns', 'list')
  return out.split('\n').map((l) => l.trim().split(/\s+/)[0] ?? '').filter((n) => n !== '')
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0) // signal 0: existence check only, nothing is sent
    return true
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM'
  }
}

/**
 * Deletes tdm* namespaces whose creating test process is gone (a run killed before its cleanup),
 * and tdm* namespaces not named by this harness once they are old. Namespaces of runs still going
 * (their pid alive) are left alone, so parallel runs do not collide.
 */
export async function cleanStaleNamespaces(): Promise<string[]> {
  const removed: string[] = []
  for (const ns of await listNamespaces()) {
    if (!ns.startsWith(PREFIX)) continue
    const m = OURS.exec(ns)
    let stale: boolean
    if (m !== null) {
      const pid = parseInt(m[1]!, 36)
      stale = pid !== process.pid && !alive(pid)
    } else {
      let mtime = Date.now()
      try { mtime = statSync(`/run/netns/${ns}`).mtimeMs } catch { /* not under /run/netns */ }
      stale = Date.now() - mtime > STALE_UNKNOWN_MS
    }
    if (stale) {
      await ip('netns', 'del', ns).catch(() => {})
      removed.push(ns)
    }
  }
  return removed
}

// Namespaces created by this process and not yet deleted: removed synchronously if the process exits early.
const live = new Set<string>()
let exitHookInstalled = false
function installExitHook(): void {
  if (exitHookInstalled) return
  exitHookInstalled = true
  const cleanupSync = (): void => {
    for (const ns of live) {
      try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore', timeout: 5000 }) } catch { /* already gone */ }
    }
    live.clear()
  }
  process.once('exit', cleanupSync)
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.once(sig, () => { cleanupSync(); process.exit(128 + (sig === 'SIGINT' ? 2 : 15)) })
  }
}

export interface Link {
  /** Interface names: `devA` in namespace a, `devB` in namespace b. */
  a: string
  b: string
  devA: string
  devB: string
  /** Addresses without prefix length, e.g. 10.77.0.1 and 10.77.0.2. */
  addrA: string
  addrB: string
}

/**
 * A set of namespaces for one test. `Topology.create(t)` registers the teardown with `t.after`;
 * `destroy()` may also be called directly (it is idempotent).
 */
export class Topology {
  readonly id: string
  readonly namespaces: string[] = []
  readonly links: Link[] = []
  readonly #multicast = new Set<string>()
  readonly #teardown: Array<() => Promise<void> | void> = []

  private constructor() {
    this.id = `${PREFIX}${process.pid.toString(36)}x${randomBytes(2).toString('hex')}`
  }

  /** Checks root, removes leftovers of killed runs, and returns an empty topology torn down after `t`. */
  static async create(t: AfterHook): Promise<Topology> {
    requireRoot()
    await cleanStaleNamespaces()
    const topo = new Topology()
    installExitHook()
    t.after(() => topo.destroy())
    return topo
  }

  /** Runs `fn` first at teardown (before the namespaces go): e.g. stopping processes inside them. */
  onTeardown(fn: () => Promise<void> | void): void {
    this.#teardown.push(fn)
  }

  /** A new namespace named `<run id><suffix>` with `lo` up. */
  async addNamespace(suffix: string): Promise<string> {
    if (!/^[a-z0-9]{1,8}$/.test(suffix)) throw new Error(`namespace suffix "${suffix}": 1-8 of [a-z0-9]`)
    const ns = `${this.id}${suffix}`
    await ip('netns', 'add', ns)
    live.add(ns)
    this.namespaces.push(ns)
    await ip('-n', ns, 'link', 'set', 'lo', 'up')
    return ns
  }

  /**
   * A veth pair between namespaces a and b (created inside them, never in the root namespace), with
   * 10.77.<subnet>.<hostA>/24 and .<hostB>/24, both ends `up multicast on`, and — unless
   * `multicast: false`, or the namespace already has one — the 224.0.0.0/4 route on it.
   */
  async link(a: string, b: string, options: { subnet?: number; hostA?: number; hostB?: number; multicast?: boolean } = {}): Promise<Link> {
    const subnet = options.subnet ?? this.links.length
    const hostA = options.hostA ?? 1
    const hostB = options.hostB ?? 2
    if (!(subnet >= 0 && subnet <= 255)) throw new Error(`subnet ${subnet} out of 0..255`)
    const idx = this.links.length
    const devA = `tv${idx}a`
    const devB = `tv${idx}b`
    await ip('-n', a, 'link', 'add', devA, 'type', 'veth', 'peer', 'name', devB, 'netns', b)
    const link: Link = { a, b, devA, devB, addrA: `10.77.${subnet}.${hostA}`, addrB: `10.77.${subnet}.${hostB}` }
    for (const [ns, dev, addr] of [[a, devA, link.addrA], [b, devB, link.addrB]] as const) {
      await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev)
      await ip('-n', ns, 'link', 'set', dev, 'up', 'multicast', 'on')
      if (options.multicast !== false && !this.#multicast.has(ns)) {
        await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev)
        this.#multicast.add(ns)
      }
    }
    this.links.push(link)
    return link
  }

  /** Runs a command inside one of the namespaces. */
  exec(ns: string, cmd: string, args: string[] = []): Promise<string> {
    return nsExec(ns, cmd, args)
  }

  /** Runs the teardown hooks, then deletes every namespace (their veths go with them). */
  async destroy(): Promise<void> {
    const hooks = this.#teardown.splice(0).reverse()
    for (const fn of hooks) {
      try { await fn() } catch { /* keep tearing down */ }
    }
    const errors: string[] = []
    for (const ns of this.namespaces.splice(0)) {
      try {
        await ip('netns', 'del', ns)
      } catch (err) {
        if (existsNs(ns)) errors.push((err as Error).message)
      }
      live.delete(ns)
    }
    if (errors.length > 0) throw new Error(`teardown left namespaces behind: ${errors.join('; ')}`)
  }
}

function existsNs(ns: string): boolean {
  try {
    return readdirSync('/run/netns').includes(ns)
  } catch {
    return false
  }
}

// ---- Routed networks (internet scenarios): addressed links, routers, NAT ----

export interface RoutedLink {
  a: string
  b: string
  devA: string
  devB: string
  /** Addresses without prefix length. */
  addrA: string
  addrB: string
}

let routedLinks = 0

/**
 * A veth pair between namespaces a and b with the given addresses (`ADDR/PREFIX`), no multicast
 * route: for internet scenarios (public ranges such as 11.0.0.0/8 exist only inside the namespaces,
 * which are linked only to each other). Interface names `twNa`/`twNb`, or the names given.
 */
export async function linkRouted(topo: Topology, a: string, b: string, options: { addrA: string; addrB: string; devA?: string; devB?: string }): Promise<RoutedLink> {
  const n = routedLinks++
  const devA = options.devA ?? `tw${n}a`
  const devB = options.devB ?? `tw${n}b`
  await ip('-n', a, 'link', 'add', devA, 'type', 'veth', 'peer', 'name', devB, 'netns', b)
  for (const [ns, dev, addr] of [[a, devA, options.addrA], [b, devB, options.addrB]] as const) {
    await ip('-n', ns, 'addr', 'add', addr, 'dev', dev)
    await ip('-n', ns, 'link', 'set', dev, 'up')
  }
  const bare = (s: string): string => s.split('/')[0]!
  return { a, b, devA, devB, addrA: bare(options.addrA), addrB: bare(options.addrB) }
}

/** Default route of `ns` via `gateway`. */
export async function setDefaultRoute(ns: string, gateway: string): Promise<void> {
  await ip('-n', ns, 'route', 'add', 'default', 'via', gateway)
}

/** Lets `ns` forward packets between its interfaces (a router). */
export async function enableForwarding(ns: string): Promise<void> {
  await nsExec(ns, 'sysctl', ['-q', '-w', 'net.ipv4.ip_forward=1'])
}

/** Runs `iptables ARGS…` inside a namespace (needs the iptables package). */
export async function iptables(ns: string, ...args: string[]): Promise<string> {
  return nsExec(ns, 'iptables', ['-w', ...args])
}

/**
 * Makes `ns` a home router: NAT (MASQUERADE, or with `symmetric` a new random source port per
 * flow, as `--random-fully` does) from `lan` out of `wan`; from the WAN only replies to what went
 * out are forwarded in, and unsolicited packets to the router itself are dropped, as home routers do.
 */
export async function makeNatRouter(ns: string, lan: string, wan: string, options: { symmetric?: boolean } = {}): Promise<void> {
  await enableForwarding(ns)
  await iptables(ns, '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', ...(options.symmetric === true ? ['--random-fully'] : []))
  await iptables(ns, '-A', 'FORWARD', '-i', lan, '-o', wan, '-j', 'ACCEPT')
  await iptables(ns, '-A', 'FORWARD', '-i', wan, '-o', lan, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
  await iptables(ns, '-P', 'FORWARD', 'DROP')
  await iptables(ns, '-A', 'INPUT', '-i', wan, '-m', 'conntrack', '--ctstate', 'ESTABLISHED,RELATED', '-j', 'ACCEPT')
  await iptables(ns, '-A', 'INPUT', '-i', wan, '-j', 'DROP')
}

/**
 * Counts bytes of TCP traffic on `port` in and out of `ns` (rules with no target: they only count).
 * Returns a reader of the total so far.
 */
export async function countTcpPort(ns: string, port: number): Promise<() => Promise<number>> {
  await iptables(ns, '-A', 'INPUT', '-p', 'tcp', '--dport', String(port))
  await iptables(ns, '-A', 'OUTPUT', '-p', 'tcp', '--sport', String(port))
  return async () => {
    let total = 0
    for (const chain of ['INPUT', 'OUTPUT']) {
      const out = await iptables(ns, '-nvxL', chain)
      for (const line of out.split('\n')) {
        if (line.includes(`dpt:${port}`) || line.includes(`spt:${port}`)) total += Number(line.trim().split(/\s+/)[1] ?? 0)
      }
    }
    return total
  }
}

/**
 * One LAN of several namespaces: a bridge in its own namespace (`<run id>br`) and a veth from each
 * member to it, addressed 10.77.<subnet>.<i+1>/24, `up multicast on`, with the 224.0.0.0/4 route
 * (mDNS). Returns each member's address, in order. Like `link`, nothing touches the root namespace.
 */
export async function bridgeLan(topo: Topology, members: string[], subnet = 200): Promise<string[]> {
  const br = await topo.addNamespace('br')
  await ip('-n', br, 'link', 'add', 'br0', 'type', 'bridge')
  await ip('-n', br, 'link', 'set', 'br0', 'up')
  const addrs: string[] = []
  for (const [i, ns] of members.entries()) {
    const dev = `tl${i}m`
    const port = `tl${i}p`
    await ip('-n', ns, 'link', 'add', dev, 'type', 'veth', 'peer', 'name', port, 'netns', br)
    await ip('-n', br, 'link', 'set', port, 'master', 'br0', 'up')
    const addr = `10.77.${subnet}.${i + 1}`
    await ip('-n', ns, 'addr', 'add', `${addr}/24`, 'dev', dev)
    await ip('-n', ns, 'link', 'set', dev, 'up', 'multicast', 'on')
    await ip('-n', ns, 'route', 'add', '224.0.0.0/4', 'dev', dev)
    addrs.push(addr)
  }
  return addrs
}
