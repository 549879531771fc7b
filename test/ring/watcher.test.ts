import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import test from 'ava'
import { pino } from 'pino'
import type { Logger } from '../../lib/logger.ts'
import { RingBuilder, RingWatcher, ringPaths, writeRingFile, type Ring } from '../../ring/index.ts'
import { spec } from './helpers.ts'

function capturingLogger (): { logger: Logger, lines: Array<{ level: number, msg: string }> } {
  const lines: Array<{ level: number, msg: string }> = []
  const stream = new Writable({
    write (chunk: Buffer, _enc, done) {
      lines.push(JSON.parse(chunk.toString()))
      done()
    }
  })
  return { logger: pino({ level: 'info' }, stream), lines }
}

async function setup (t: { teardown: (fn: () => Promise<void>) => void }): Promise<{ path: string, builder: RingBuilder }> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-watch-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  const builder = RingBuilder.create({ partPower: 6, replicas: 3, minPartHours: 0, seed: 11n })
  for (let z = 0; z < 3; z++) builder.addDevice(spec(z, 0))
  builder.rebalance({ now: 0 })
  const path = ringPaths(dir).ring
  await writeRingFile(path, builder.toRingData())
  return { path, builder }
}

test('picks up a newer ring on its own and tells listeners', async (t) => {
  const { path, builder } = await setup(t)
  const watcher = new RingWatcher({ path, logger: capturingLogger().logger, intervalMs: 10 })
  await watcher.start()
  t.teardown(async () => await watcher.stop())
  t.is(watcher.current().version, 1)
  const changed = new Promise<[Ring, Ring]>((resolve) => watcher.onChange((ring, previous) => resolve([ring, previous])))
  builder.addDevice(spec(3, 0))
  builder.rebalance({ now: 0 })
  await writeRingFile(path, builder.toRingData())
  const [ring, previous] = await changed
  t.is(ring.version, 2)
  t.is(previous.version, 1)
  t.is(watcher.current(), ring)
  t.is(ring.devices.length, 4)
})

test('a corrupt or older file is ignored with a warning; the ring in force stays', async (t) => {
  const { path, builder } = await setup(t)
  const { logger, lines } = capturingLogger()
  const watcher = new RingWatcher({ path, logger, intervalMs: 60_000 })
  await watcher.start()
  t.teardown(async () => await watcher.stop())
  const v1 = builder.toRingData()
  builder.setWeight(0, 50)
  builder.rebalance({ now: 0 })
  await writeRingFile(path, builder.toRingData())
  t.true(await watcher.check())
  t.is(watcher.current().version, 2)

  await writeFile(path, 'garbage')
  t.false(await watcher.check())
  t.is(watcher.current().version, 2)
  t.true(lines.some((l) => l.level === 40 && /does not load/.test(l.msg)))

  await writeRingFile(path, v1)
  t.false(await watcher.check())
  t.is(watcher.current().version, 2)
  t.true(lines.some((l) => l.level === 40 && /older than version 2/.test(l.msg)))

  await rm(path)
  t.false(await watcher.check())
  t.false(await watcher.check())
  t.is(lines.filter((l) => /unreadable/.test(l.msg)).length, 1, 'a missing file is reported once')
  t.is(watcher.current().version, 2)
})

test('start fails when there is no ring; current() needs start()', async (t) => {
  const watcher = new RingWatcher({ path: join(tmpdir(), 'no-such-dir', 'object.ring.gz'), logger: capturingLogger().logger })
  t.throws(() => watcher.current(), { code: 'RingNotFound' })
  await t.throwsAsync(watcher.start(), { code: 'RingNotFound' })
})
