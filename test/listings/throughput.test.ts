import test from 'ava'
import { listingCluster } from './listing-cluster.ts'

/** Rough figures for the closing notes, not a benchmark: a few seconds per phase on the 3-node test cluster. */
test('throughput: updateObject at concurrency 16, pages of 1000', async (t) => {
  const { listings, clock } = await listingCluster(t)
  const account = 'AUTH_speed'
  const container = 'c'
  await listings.putContainer(account, container)
  let names = 0
  const writeFor = async (ms: number): Promise<{ written: number, seconds: number }> => {
    let written = 0
    const started = performance.now()
    await Promise.all(Array.from({ length: 16 }, async (_, worker) => {
      while (performance.now() - started < ms) {
        await listings.updateObject(account, container, {
          name: `w${worker}/obj-${String(names++).padStart(7, '0')}`,
          timestamp: clock.tick(),
          size: 4096,
          etag: 'd41d8cd98f00b204e9800998ecf8427e',
          contentType: 'application/octet-stream'
        })
        written++
      }
    }))
    return { written, seconds: (performance.now() - started) / 1000 }
  }
  await writeFor(1_000) // warm-up: JIT, connections
  const { written, seconds } = await writeFor(3_000)
  t.log(`updateObject, concurrency 16: ${(written / seconds).toFixed(0)} entries/s (${written} in ${seconds.toFixed(1)} s)`)

  let pages = 0
  let listed = 0
  let marker: string | undefined
  const listStarted = performance.now()
  while (performance.now() - listStarted < 3_000) {
    const page = await listings.listObjects(account, container, { limit: 1000, marker })
    pages++
    listed += page.entries.length
    marker = page.truncated ? page.nextMarker : undefined
  }
  const listSeconds = (performance.now() - listStarted) / 1000
  t.log(`listObjects, pages of 1000, one at a time: ${(pages / listSeconds).toFixed(1)} pages/s (${(listed / listSeconds).toFixed(0)} entries/s)`)

  const delimited = performance.now()
  const rolled = await listings.listObjects(account, container, { delimiter: '/', limit: 1000 })
  t.log(`delimiter listing over ${names} names: ${rolled.commonPrefixes.length} prefixes in ${(performance.now() - delimited).toFixed(1)} ms`)
  t.is(rolled.commonPrefixes.length, 16)
})
