import type { PathKind } from '../../../shared/api/index.ts'

export function pathLabel(path: PathKind | null | undefined): string {
  switch (path) {
    case 'lan': return 'Local network'
    case 'direct': return 'Direct'
    case 'relayed': return 'Relayed'
    default: return '—'
  }
}
