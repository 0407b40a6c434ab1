/**
 * The node's log: four levels and one namespace per service ("dag-sync", "replicators", "node"),
 * so a line says which part of the node wrote it without each message spelling its own prefix.
 * The node makes one Logger from the sink it is given (the CLI prints each line to stderr after
 * the ISO time) and hands each service its own namespace of it.
 *
 * - debug: what a person running the node rarely needs (a best-effort step that failed and
 *   changes nothing: an address not remembered, a hang-up that came too late). Hidden unless
 *   TANDEM_DEBUG=1.
 * - info: what the node did or could not do with a peer (sync failed, redial failed, paired).
 * - warn, error: something here went wrong, not only a peer (a commit failed, a service broke).
 *
 * A line is "namespace: message" at info, and "level namespace: message" at the other levels.
 */

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/** Where finished lines go (the CLI: stderr, after the ISO time). A plain `(line) => void` will do. */
export type LogSink = (line: string, level: LogLevel) => void

/** A plain function taking every line a service writes, as the services took before they had a Logger. */
export type LogFunction = (msg: string) => void

export interface Logger {
  /** Each level is a plain function: `log.info` may be handed on where a `(msg) => void` is expected. */
  readonly debug: LogFunction
  readonly info: LogFunction
  readonly warn: LogFunction
  readonly error: LogFunction
  /** Whether debug lines go anywhere (skip building an expensive message when they do not). */
  readonly debugEnabled: boolean
  /** The logger of a part of this one: its namespace is "<this>:<name>" (just `name` at the root). */
  forComponent(name: string): Logger
}

export interface LoggerOptions {
  /** Write debug lines too (default: TANDEM_DEBUG=1 in the environment). */
  debug?: boolean
}

/** Whether TANDEM_DEBUG=1 asks for debug lines. */
export function debugFromEnv(env: NodeJS.ProcessEnv = process.env): boolean {
  return env.TANDEM_DEBUG === '1'
}

/** A root logger (no namespace) writing to `sink`. */
export function createLogger(sink: LogSink, options: LoggerOptions = {}): Logger {
  return make(sink, options.debug ?? debugFromEnv(), '')
}

function make(sink: LogSink, debug: boolean, namespace: string): Logger {
  const line = (level: LogLevel, msg: string): string => {
    const text = namespace === '' ? msg : `${namespace}: ${msg}`
    return level === 'info' ? text : `${level} ${text}`
  }
  return {
    debug: debug ? (msg) => sink(line('debug', msg), 'debug') : () => {},
    info: (msg) => sink(line('info', msg), 'info'),
    warn: (msg) => sink(line('warn', msg), 'warn'),
    error: (msg) => sink(line('error', msg), 'error'),
    debugEnabled: debug,
    forComponent: (name) => make(sink, debug, namespace === '' ? name : `${namespace}:${name}`),
  }
}

/** Writes nothing: the default of a service given no logger (the in-memory protocol tests). */
export const silentLogger: Logger = make(() => {}, false, '')

/**
 * A Logger from what a caller gave: a Logger as it is; a plain function as the sink of a logger
 * named `namespace` (how services that still take `log?: (msg) => void` hand theirs on); nothing
 * as the silent logger.
 */
export function toLogger(log: Logger | LogFunction | undefined, namespace: string): Logger {
  if (log === undefined) return silentLogger
  if (typeof log === 'function') return createLogger(log).forComponent(namespace)
  return log
}

/** An error's message, for a log line (what was thrown need not be an Error). */
export function reason(err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}
