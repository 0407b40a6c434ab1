/**
 * The window's backup downloads (renderer/src/backup): a blob: URL of the window's own page, saved
 * where the person chooses in the system's save dialog. Any other download is cancelled. (Imports
 * need nothing here: the page's file input is the system's open dialog.)
 */
import type { BrowserWindow } from 'electron'

export function allowBackupDownloads(window: BrowserWindow): void {
  window.webContents.session.on('will-download', (_event, item, contents) => {
    if (contents !== window.webContents || !item.getURL().startsWith('blob:')) {
      item.cancel()
      return
    }
    item.setSaveDialogOptions({ title: 'Export backup', defaultPath: item.getFilename(), buttonLabel: 'Save backup' })
  })
}
