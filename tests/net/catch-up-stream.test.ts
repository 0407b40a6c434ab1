/**
 * A device catching up fetches while the head exchange still streams: the first chunk of what it
 * lacks is fetched as soon as the first frame of heads has come, not after every head has.
 */
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { eventually, formGroup, startNode } from '../helpers/nodes.ts'

const NOTES = 'type Notes { title: String! n: Int }'
const N = 3000

test('a device catching up has its first documents while the holder is still reading the rest of its heads', async (t) => {
  const a = await startNode(t)
  await a.db.addCollections(NOTES)
  await a.db.createDocuments('Notes', Array.from({ length: N }, (_, i) => ({ title: `note ${i}`, n: i })))
  // A publishes its new blocks by gossip a moment after the commit: let that pass (to nobody),
  // so that B gets them by catching up only.
  await new Promise((resolve) => setTimeout(resolve, 1000))
  const b = await startNode(t)
  await b.db.addCollections(NOTES)
  // A answers with the heads it reads, a page (1000 documents) at a time. Every page after the
  // first waits here until B shows a document: a B that fetched only once it had every head
  // would wait forever, and so would an A that sent nothing until it had read them all.
  let open = (): void => {}
  const gate = new Promise<void>((resolve) => { open = resolve })
  t.after(() => open())
  const pages = a.db.bucketHeadsPages.bind(a.db)
  let reads = 0
  let waiting = 0
  a.db.bucketHeadsPages = async function* (collection, buckets) {
    for await (const page of pages(collection, buckets)) {
      if (reads++ > 0) { waiting++; await gate; waiting-- }
      yield page
    }
  }
  await formGroup([a, b])
  const first = await eventually(async () => {
    const n = (await b.db.listDocuments('Notes')).total
    return n > 0 ? n : false
  }, 'documents on B while A still reads its heads')
  assert.ok(waiting > 0, 'A was still reading the rest of its heads')
  assert.ok(first < N, `only the first part had come (${first})`)
  open()
  await eventually(async () => (await b.db.listDocuments('Notes')).total === N, `all ${N} documents on B`, 30_000)
  const docs = await b.db.listDocuments('Notes', { limit: N })
  assert.deepEqual(docs.docs.map((d) => d.fields.n as number).sort((x, y) => x - y), Array.from({ length: N }, (_, i) => i))
})
