import { connect } from 'node:net'
import test from 'ava'
import { metricValue, MiB, runOk, startNbd } from './harness.ts'
import { Gate } from './gate.ts'
import { CMD, RawClient } from './raw-client.ts'

const ESHUTDOWN = 108

test('stop() with requests in flight: later requests get ESHUTDOWN, the ones in flight finish and are answered, then devices and sockets close', async (t) => {
  const gate = new Gate()
  const h = await startNbd(t, [{ name: 'vol', size: 16 * MiB, hold: gate.hold }])
  const c = await RawClient.connect(h.server.port)
  await c.handshake()
  await c.go('vol')
  for (let i = 0; i < 4; i++) c.request(CMD.WRITE, BigInt(i), i * 4096, 4096, { payload: Buffer.alloc(4096, i + 1) })
  await gate.held(4)
  // A second client still negotiating when the server stops is closed.
  const negotiating = await RawClient.connect(h.server.port)
  await negotiating.handshake()

  const port = h.server.port
  const stopped = h.server.stop()
  c.request(CMD.READ, 10n, 0, 4096)
  c.request(CMD.WRITE, 11n, MiB, 512, { payload: Buffer.alloc(512, 9) })
  const refused = [await c.reply(), await c.reply()]
  t.deepEqual(refused.map((r) => [r.cookie, r.error]).sort(), [[10n, ESHUTDOWN], [11n, ESHUTDOWN]])
  await negotiating.closed
  t.is(gate.waiting, 4, 'requests after stop() never reached the device')

  gate.open()
  const answered = [await c.reply(), await c.reply(), await c.reply(), await c.reply()]
  t.deepEqual(answered.map((r) => [r.cookie, r.error]).sort(), [[0n, 0], [1n, 0], [2n, 0], [3n, 0]])
  await c.closed
  await stopped
  for (let i = 0; i < 4; i++) t.is(h.exports.store('vol').read(i * 4096, 1)[0], i + 1)
  t.is(h.exports.store('vol').read(MiB, 1)[0], 0)
  t.is(h.exports.openDevices, 0)
  t.is(await metricValue(h.metrics, 'nbd_connections'), 0)
  t.is(await metricValue(h.metrics, 'nbd_errors_total', { errno: 'ESHUTDOWN' }), 2)
  t.is(await metricValue(h.metrics, 'nbd_written_bytes_total'), 4 * 4096)
  t.is(await metricValue(h.metrics, 'nbd_requests_total', { command: 'write' }), 5)
  // Nothing listens any more.
  await t.throwsAsync(new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => { socket.destroy(); resolve(undefined) })
    socket.on('error', reject)
  }), { code: 'ECONNREFUSED' })
})

test('stop() drops connections whose requests outlast the drain timeout', async (t) => {
  const gate = new Gate()
  const h = await startNbd(t, [{ name: 'vol', size: 16 * MiB, hold: gate.hold }], { drainTimeoutMs: 300 })
  const c = await RawClient.connect(h.server.port)
  await c.handshake()
  await c.go('vol')
  c.request(CMD.READ, 1n, 0, MiB)
  await gate.held(1)
  await h.server.stop()
  await c.closed
  t.true(h.logs.some((l) => l.level === 40 && l.msg === 'nbd drain timed out; dropping connections'))
  // The stuck call finishes later; its connection still releases the device.
  gate.open()
  for (let i = 0; i < 100 && h.exports.openDevices > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.is(h.exports.openDevices, 0)
})

test('metrics: requests by command, bytes read and written, connections gauge while connected', async (t) => {
  const h = await startNbd(t, [{ name: 'vol', size: 16 * MiB }])
  const c = await RawClient.connect(h.server.port)
  await c.handshake()
  await c.go('vol')
  t.is(await metricValue(h.metrics, 'nbd_connections'), 1)
  c.request(CMD.WRITE, 1n, 0, 8192, { payload: Buffer.alloc(8192, 1) })
  await c.reply()
  c.request(CMD.READ, 2n, 0, 4096)
  await c.fullReply()
  c.request(CMD.FLUSH, 3n, 0, 0)
  await c.reply()
  c.request(CMD.DISC, 4n, 0, 0)
  await c.closed
  await runOk('qemu-io', ['-f', 'raw', '-r', '-c', 'read 0 64k', h.uri('vol')])
  t.is(await metricValue(h.metrics, 'nbd_requests_total', { command: 'write' }), 1)
  t.is(await metricValue(h.metrics, 'nbd_requests_total', { command: 'flush' }), 1)
  t.true(await metricValue(h.metrics, 'nbd_requests_total', { command: 'read' }) >= 2)
  t.is(await metricValue(h.metrics, 'nbd_written_bytes_total'), 8192)
  t.is(await metricValue(h.metrics, 'nbd_read_bytes_total'), 4096 + 65536)
  for (let i = 0; i < 100 && await metricValue(h.metrics, 'nbd_connections') > 0; i++) await new Promise((resolve) => setTimeout(resolve, 10))
  t.is(await metricValue(h.metrics, 'nbd_connections'), 0)
  const opened = h.logs.find((l) => l.msg === 'nbd export opened')
  t.like(opened, { export: 'vol', readOnly: false, structured: true })
  t.true(h.logs.some((l) => l.msg === 'nbd connection closed' && l.export === 'vol' && l.end === 'disconnect'))
})
