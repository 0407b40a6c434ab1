/** What a person does in the window, as Playwright steps (found by role and accessible name). */
import type { Page } from 'playwright-core'

export const WAIT = 25_000

export async function section(page: Page, name: 'Collections' | 'Devices & peers' | 'Replicators' | 'This device'): Promise<void> {
  await page.getByRole('navigation', { name: 'Sections' }).getByRole('button', { name, exact: true }).click()
}

export async function openCollection(page: Page, name: string): Promise<void> {
  await section(page, 'Collections')
  await page.getByRole('button', { name: new RegExp(`^${name},`) }).click()
}

export function table(page: Page, collection: string) {
  return page.getByRole('table', { name: `${collection} documents` })
}

/** The documents table as rows of cell texts (actions column dropped), sorted for comparison. */
export async function rows(page: Page, collection: string): Promise<string[][]> {
  const body = table(page, collection).locator('tbody tr')
  const out: string[][] = []
  for (const row of await body.all()) {
    const cells = await row.locator('td').allInnerTexts()
    if (cells.length > 1) out.push(cells.slice(0, -1).map((c) => c.trim()))
  }
  return out.sort((a, b) => a.join('|').localeCompare(b.join('|')))
}

/** Fills the document dialog: `{field: text}` typed into the inputs labelled with the field name. */
export async function fillDoc(page: Page, values: Record<string, string>): Promise<void> {
  const dialog = page.getByRole('dialog')
  for (const [field, text] of Object.entries(values)) {
    await dialog.getByLabel(new RegExp(`^${field}\\b`)).fill(text)
  }
}

export async function addDoc(page: Page, values: Record<string, string>): Promise<void> {
  await page.getByRole('button', { name: 'Add document' }).click()
  await fillDoc(page, values)
  await page.getByRole('dialog').getByRole('button', { name: 'Create', exact: true }).click()
  await page.getByRole('dialog').waitFor({ state: 'detached', timeout: WAIT })
}

export async function editDoc(page: Page, rowLabel: string, values: Record<string, string>): Promise<void> {
  await page.getByRole('button', { name: `Edit ${rowLabel}`, exact: true }).click()
  await fillDoc(page, values)
  await page.getByRole('dialog').getByRole('button', { name: 'Save' }).click()
}
