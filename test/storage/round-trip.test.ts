import test from 'ava'
import xxhash from 'xxhash-wasm'
import { HybridClock } from '../../storage/index.ts'
import { collect, NodeProcess, pattern, ref, sha256 } from './node-process.ts'

const clock = new HybridClock()
let node: NodeProcess

test.before(async () => {
  node = await NodeProcess.create()
  await node.launch()
})

test.after.always(async () => {
  await node?.destroy()
})

for (const size of [0, 1, 4096, 64 * 1024 + 1]) {
  test(`round trip of ${size} bytes`, async (t) => {
    const client = node.client()
    const { h64Raw } = await xxhash()
    const body = pattern(size, size + 1)
    const timestamp = clock.tick()
    const put = client.put(ref(`small-${size}`), { timestamp, size, metadata: { 'content-type': 'application/x-test' } })
    await put.write(body)
    const stored = await put.finish({ etag: 'abc' })
    t.like(stored, { exists: true, deleted: false, timestamp, size })
    t.is(stored.checksum, h64Raw(body).toString(16).padStart(16, '0'))
    t.deepEqual(stored.metadata, { 'content-type': 'application/x-test', etag: 'abc' })

    t.deepEqual(await client.head(ref(`small-${size}`)), stored)
    const read = await client.get(ref(`small-${size}`))
    t.deepEqual(read.info, stored)
    t.true((await collect(read.body)).equals(body))
  })
}

test('64 MiB streams both ways with matching checksums', async (t) => {
  const client = node.client()
  const { create64 } = await xxhash()
  const size = 64 * 1024 * 1024
  const piece = pattern(4 * 1024 * 1024, 7)
  const sent = create64()
  const timestamp = clock.tick()
  const started = Date.now()
  const put = client.put(ref('big'), { timestamp, size })
  // 3 MiB writes: the client splits them into messages the node accepts.
  const step = 3 * 1024 * 1024
  for (let at = 0; at < size; at += step) {
    const start = at % piece.length
    const chunk = Buffer.concat([piece.subarray(start), piece]).subarray(0, Math.min(step, size - at))
    sent.update(chunk)
    await put.write(chunk)
  }
  const stored = await put.finish()
  const putMs = Date.now() - started
  const expected = sent.digest().toString(16).padStart(16, '0')
  t.is(stored.checksum, expected)
  t.is(stored.size, size)

  const readStarted = Date.now()
  const read = await client.get(ref('big'))
  const received = create64()
  let bytes = 0
  let largest = 0
  for await (const chunk of read.body) {
    received.update(chunk)
    bytes += chunk.length
    largest = Math.max(largest, chunk.length)
  }
  const getMs = Date.now() - readStarted
  t.is(bytes, size)
  t.true(largest <= 1024 * 1024)
  t.is(received.digest().toString(16).padStart(16, '0'), expected)
  t.log(`64 MiB put ${putMs} ms (${(64000 / putMs).toFixed(0)} MiB/s), get ${getMs} ms (${(64000 / getMs).toFixed(0)} MiB/s)`)
})

test('sha256 of a multi-block body survives the trip', async (t) => {
  const client = node.client()
  const body = pattern(3 * 1024 * 1024 + 12345, 99)
  const put = client.put(ref('sha'), { timestamp: clock.tick() })
  for (let at = 0; at < body.length; at += 100_000) await put.write(body.subarray(at, at + 100_000))
  t.is((await put.finish()).size, body.length)
  t.is(sha256(await collect((await client.get(ref('sha'))).body)), sha256(body))
})

test('a put with unknown size (-1) is accepted; a wrong declared size is not', async (t) => {
  const client = node.client()
  const put = client.put(ref('nosize'), { timestamp: clock.tick() })
  await put.write(Buffer.from('abc'))
  t.is((await put.finish()).size, 3)

  const short = client.put(ref('short'), { timestamp: clock.tick(), size: 10 })
  await short.write(Buffer.from('abc'))
  const error = await t.throwsAsync(short.finish())
  t.is((error as { code?: string }).code, 'InvalidArgument')

  const long = client.put(ref('long'), { timestamp: clock.tick(), size: 2 })
  const failed = await t.throwsAsync((async () => {
    await long.write(Buffer.from('abc'))
    await long.finish()
  })())
  t.is((failed as { code?: string }).code, 'InvalidArgument')
  t.false((await client.head(ref('long'))).exists)
})

test('metrics are served on the metrics port', async (t) => {
  const client = node.client()
  await client.head(ref('metrics-probe'))
  const response = await fetch(`http://127.0.0.1:${node.metricsPort}/metrics`)
  t.is(response.status, 200)
  const text = await response.text()
  t.regex(text, /ringstack_storage_requests_total\{[^}]*method="HeadObject"[^}]*outcome="ok"[^}]*\} \d+/)
  t.regex(text, /ringstack_storage_request_duration_seconds_bucket/)
  t.regex(text, /ringstack_storage_bytes_received_total/)
  t.is((await fetch(`http://127.0.0.1:${node.metricsPort}/other`)).status, 404)
})
