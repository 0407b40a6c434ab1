/** Where the window is: the sidebar section, and inside Collections the open collection/document. */
export type Section = 'collections' | 'devices' | 'replicators' | 'device' | 'doctor'

export interface Route {
  section: Section
  collection?: string
  /** A docID whose history is open. */
  history?: string
}

const SECTIONS: readonly Section[] = ['collections', 'devices', 'replicators', 'device', 'doctor']

/**
 * The section lives in the URL hash (`#/device`) too: the Electron main process lets the camera be
 * asked for only while the window shows This device, and it reads that from the URL.
 */
export function routeFromHash(hash: string): Route {
  const section = hash.replace(/^#\/?/, '').split('/')[0] as Section
  return { section: SECTIONS.includes(section) ? section : 'collections' }
}

export function hashOf(route: Route): string {
  return `#/${route.section}`
}
