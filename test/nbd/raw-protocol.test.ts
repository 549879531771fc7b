import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import { Gate } from './gate.ts'
import { MiB, runOk, startNbd, type Harness } from './harness.ts'
import { CMD, goData, metaContextData, OPT, RawClient, REP } from './raw-client.ts'

const SPECS = [
  { name: 'vol', size: 64 * MiB, description: 'raw test volume' },
  { name: 'slow', size: 64 * MiB, delayMs: 40 }
]

async function client (h: Harness): Promise<RawClient> {
  const c = await RawClient.connect(h.server.port)
  await c.handshake()
  return c
}

async function waitFor (condition: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await sleep(25)
  if (!condition()) throw new Error(`timed out waiting for ${what}`)
}

test('greeting: fixed newstyle and no zeroes; an unknown option is ERR_UNSUP and GO still works', async (t) => {
  const h = await startNbd(t, SPECS)
  const c = await RawClient.connect(h.server.port)
  t.is(await c.handshake(), 3)
  c.sendOption(0x4242, Buffer.from('whatever the data'))
  t.like(await c.optionReply(), { option: 0x4242, type: REP.ERR_UNSUP })
  c.sendOption(4) // PEEK_EXPORT, withdrawn
  t.like(await c.optionReply(), { option: 4, type: REP.ERR_UNSUP })
  const { size } = await c.go('vol')
  t.is(size, 64 * MiB)
  h.exports.store('vol').write(0, Buffer.alloc(512, 9))
  c.request(CMD.READ, 7n, 0, 512)
  const [chunk] = await c.fullReply()
  t.like(chunk, { cookie: 7n, chunkType: 1, done: true })
  t.is(chunk!.data.readBigUInt64BE(0), 0n)
  t.deepEqual(chunk!.data.subarray(8), Buffer.alloc(512, 9))
  c.request(CMD.DISC, 8n, 0, 0)
  await c.closed
})

test('option errors: LIST with data, SET_META_CONTEXT before STRUCTURED_REPLY, malformed INFO are ERR_INVALID; STARTTLS without TLS is ERR_POLICY; unknown export ERR_UNKNOWN', async (t) => {
  const h = await startNbd(t, SPECS)
  const c = await client(h)
  c.sendOption(OPT.LIST, Buffer.from('x'))
  t.like(await c.optionReply(), { type: REP.ERR_INVALID })
  c.sendOption(OPT.SET_META_CONTEXT, metaContextData('vol', ['base:allocation']))
  t.like(await c.optionReply(), { type: REP.ERR_INVALID })
  c.sendOption(OPT.INFO, Buffer.from([0, 0, 0, 9, 1]))
  t.like(await c.optionReply(), { type: REP.ERR_INVALID })
  c.sendOption(OPT.STARTTLS)
  t.like(await c.optionReply(), { type: REP.ERR_POLICY })
  c.sendOption(OPT.INFO, goData('nope'))
  const unknown = await c.optionReply()
  t.is(unknown.type, REP.ERR_UNKNOWN)
  t.regex(unknown.data.toString(), /no export nope/)
  c.sendOption(OPT.ABORT)
  t.like(await c.optionReply(), { option: OPT.ABORT, type: REP.ACK })
  await c.closed
})

test('INFO answers name, description and block sizes; LIST; LIST_META_CONTEXT with the base: wildcard', async (t) => {
  const h = await startNbd(t, SPECS)
  const c = await client(h)
  c.sendOption(OPT.LIST)
  const list = await c.optionReplies()
  t.deepEqual(list.filter((r) => r.type === REP.SERVER).map((r) => r.data.toString('utf8', 4, 4 + r.data.readUInt32BE(0))), ['vol', 'slow'])
  t.is(list.at(-1)!.type, REP.ACK)
  c.sendOption(OPT.INFO, goData('vol', [1, 2, 3]))
  const infos = await c.optionReplies()
  const byType = new Map(infos.filter((r) => r.type === REP.INFO).map((r) => [r.data.readUInt16BE(0), r.data.subarray(2)]))
  t.is(Number(byType.get(0)!.readBigUInt64BE(0)), 64 * MiB)
  t.is(byType.get(1)!.toString(), 'vol')
  t.is(byType.get(2)!.toString(), 'raw test volume')
  t.deepEqual([byType.get(3)!.readUInt32BE(0), byType.get(3)!.readUInt32BE(4), byType.get(3)!.readUInt32BE(8)], [512, 4096, 32 * MiB])
  for (const queries of [[], ['base:'], ['base:allocation', 'qemu:dirty-bitmap:x', 'nonsense']]) {
    c.sendOption(OPT.LIST_META_CONTEXT, metaContextData('vol', queries))
    const replies = await c.optionReplies()
    t.deepEqual(replies.map((r) => r.type), [REP.META_CONTEXT, REP.ACK], JSON.stringify(queries))
    t.is(replies[0]!.data.toString('utf8', 4), 'base:allocation')
  }
  c.sendOption(OPT.LIST_META_CONTEXT, metaContextData('vol', ['qemu:allocation-depth']))
  t.deepEqual((await c.optionReplies()).map((r) => r.type), [REP.ACK])
  c.sendOption(OPT.ABORT)
  await c.optionReply()
})

test('EXPORT_NAME: size and flags with or without the 124 zero bytes; simple replies; an unknown name closes', async (t) => {
  const h = await startNbd(t, SPECS)
  for (const noZeroes of [true, false]) {
    const c = await RawClient.connect(h.server.port)
    await c.handshake(noZeroes ? 3 : 1)
    c.sendOption(OPT.EXPORT_NAME, Buffer.from('vol'))
    const reply = await c.read(noZeroes ? 10 : 134)
    t.is(Number(reply.readBigUInt64BE(0)), 64 * MiB)
    t.is(reply.readUInt16BE(8) & 1, 1)
    if (!noZeroes) t.deepEqual(reply.subarray(10), Buffer.alloc(124))
    c.request(CMD.WRITE, 1n, 4096, 512, { payload: Buffer.alloc(512, 3) })
    t.like(await c.reply(), { cookie: 1n, error: 0, chunkType: -1 })
    c.request(CMD.READ, 2n, 4096, 512)
    const read = await c.reply()
    t.like(read, { cookie: 2n, error: 0 })
    t.deepEqual(read.data, Buffer.alloc(512, 3))
    c.request(CMD.DISC, 3n, 0, 0)
    await c.closed
  }
  const c = await client(h)
  c.sendOption(OPT.EXPORT_NAME, Buffer.from('nope'))
  await c.closed
  t.is(h.exports.openDevices, 0)
})

test('protocol violations close the connection: bad option magic, unknown client flags, bad request magic, an oversized write payload', async (t) => {
  const h = await startNbd(t, SPECS)
  const badOption = await client(h)
  badOption.sendOption(OPT.LIST, Buffer.alloc(0), 0x1122334455667788n)
  await badOption.closed

  const badFlags = await RawClient.connect(h.server.port)
  await badFlags.handshake(0x10)
  await badFlags.closed

  const badRequest = await client(h)
  await badRequest.go('vol')
  badRequest.request(CMD.READ, 1n, 0, 512, { magic: 0xdeadbeef })
  await badRequest.closed

  // Past 64 MiB the payload is not even read and dropped: the client is cut off.
  const huge = await client(h)
  await huge.go('vol')
  huge.request(CMD.WRITE, 1n, 0, 0xffff0000)
  await huge.closed

  t.is(h.logs.filter((l) => l.level === 40 && String(l.msg).startsWith('nbd protocol violation')).length, 4)
  await waitFor(() => h.exports.openDevices === 0, 'devices closed')
  // And the server goes on serving.
  await runOk('qemu-io', ['-f', 'raw', '-c', 'read 0 4k', h.uri('vol')])
  t.pass()
})

test('64 reads in flight with distinct cookies: every cookie answered once, with its own data, out of order', async (t) => {
  const h = await startNbd(t, SPECS)
  const store = h.exports.store('slow')
  for (let i = 0; i < 64; i++) store.write(i * 4096, Buffer.alloc(4096, i))
  const c = await client(h)
  await c.go('slow')
  const cookie = (i: number): bigint => 0xc0ffee00n + BigInt(i) * 0x100000001n
  for (let i = 0; i < 64; i++) c.request(CMD.READ, cookie(i), i * 4096, 4096)
  const order: number[] = []
  for (let n = 0; n < 64; n++) {
    const chunks = await c.fullReply()
    const i = Number((chunks[0]!.cookie - 0xc0ffee00n) / 0x100000001n)
    t.is(chunks[0]!.cookie, cookie(i))
    t.is(chunks.length, 1)
    t.is(Number(chunks[0]!.data.readBigUInt64BE(0)), i * 4096)
    t.deepEqual(chunks[0]!.data.subarray(8), Buffer.alloc(4096, i))
    order.push(i)
  }
  t.deepEqual([...order].sort((a, b) => a - b), [...Array(64).keys()])
  t.notDeepEqual(order, [...Array(64).keys()])
  c.request(CMD.DISC, 0n, 0, 0)
  await c.closed
})

test('DISC waits for the writes in flight before closing', async (t) => {
  const h = await startNbd(t, SPECS)
  const c = await client(h)
  await c.go('slow')
  for (let i = 0; i < 16; i++) c.request(CMD.WRITE, BigInt(i), i * 65536, 65536, { payload: Buffer.alloc(65536, i + 1) })
  c.request(CMD.DISC, 99n, 0, 0)
  const cookies = new Set<bigint>()
  for (let i = 0; i < 16; i++) cookies.add((await c.reply()).cookie)
  t.is(cookies.size, 16)
  await c.closed
  for (let i = 0; i < 16; i++) t.is(h.exports.store('slow').read(i * 65536, 1)[0], i + 1)
  await waitFor(() => h.exports.openDevices === 0, 'device closed')
})

test('clients dropping with large reads in flight (repeatedly) never take the server down', async (t) => {
  const h = await startNbd(t, SPECS)
  const store = h.exports.store('slow')
  for (let offset = 0; offset < 64 * MiB; offset += MiB) store.write(offset, Buffer.alloc(MiB, offset / MiB))
  for (let round = 0; round < 6; round++) {
    const c = await client(h)
    await c.go('slow', round % 2 === 0)
    for (let i = 0; i < 12; i++) c.request(CMD.READ, BigInt(i), (i % 8) * 8 * MiB, 8 * MiB)
    // Drop mid-reply on even rounds, before any reply on odd ones.
    if (round % 2 === 0) await c.read(1)
    c.destroy()
  }
  await waitFor(() => h.exports.openDevices === 0, 'devices closed after the drops')
  await runOk('nbdcopy', [h.uri('slow'), 'null:'], { timeoutMs: 30_000 })
  const out = await runOk('qemu-io', ['-f', 'raw', '-r', '-c', 'read -P 5 5M 1M', h.uri('slow')])
  t.regex(out, /read 1048576\/1048576/)
})

test('a client pipelining more than the in-flight bounds is held back by TCP, not buffered; all complete once the device moves', async (t) => {
  const gate = new Gate()
  const h = await startNbd(t, [{ name: 'vol', size: 64 * MiB, hold: gate.hold }])
  const c = await client(h)
  await c.go('vol')
  // 160 MiB of 1 MiB writes: the server takes 64 MiB worth, then stops reading.
  for (let i = 0; i < 160; i++) c.request(CMD.WRITE, BigInt(i), (i % 64) * MiB, MiB, { payload: Buffer.alloc(MiB, i % 251) })
  await gate.held(64)
  await sleep(300)
  t.is(gate.waiting, 64, 'no more writes read than the byte bound allows')
  // Small requests are bounded by count instead.
  const small = await client(h)
  await small.go('vol')
  for (let i = 0; i < 400; i++) small.request(CMD.READ, BigInt(i), 0, 4096)
  await gate.held(64 + 128)
  await sleep(300)
  t.is(gate.waiting, 64 + 128, 'no more requests read than the count bound allows')
  gate.open()
  const cookies = new Set<bigint>()
  for (let i = 0; i < 160; i++) cookies.add((await c.reply()).cookie)
  t.is(cookies.size, 160)
  for (let i = 0; i < 400; i++) await small.fullReply()
  t.is(h.exports.store('vol').read(63 * MiB, 1)[0], 127 % 251)
  c.destroy()
  small.destroy()
})
