import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { gzipSync } from 'node:zlib'
import test from 'ava'
import {
  buildRing, readBuilderFile, readRingFile, Ring, RingBuilder, ringPaths, writeBuilderFile, writeRingFile
} from '../../ring/index.ts'
import { spec } from './helpers.ts'

async function tempDir (t: { teardown: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-ring-'))
  t.teardown(async () => await rm(dir, { recursive: true, force: true }))
  return dir
}

function sampleBuilder (): RingBuilder {
  const builder = RingBuilder.create({ partPower: 8, replicas: 3, minPartHours: 2, seed: 0xfedc_ba98_7654_3210n })
  for (let z = 0; z < 4; z++) builder.addDevice(spec(z, 0))
  builder.rebalance({ now: 0 })
  builder.removeDevice(1)
  builder.rebalance({ now: 3_600_000 })
  builder.addDevice(spec(5, 0, 50))
  builder.removeDevice(2)
  return builder
}

test('builder file round trip keeps holes, pending removals, assignment and move times', async (t) => {
  const dir = await tempDir(t)
  const builder = sampleBuilder()
  const { builder: path } = ringPaths(dir)
  await writeBuilderFile(path, builder.toState())
  const back = RingBuilder.fromState(await readBuilderFile(path))
  t.deepEqual(back.toState(), builder.toState())
  t.deepEqual(back.devices().map((d) => [d.id, d.removing]), [[0, false], [1, false], [2, true], [3, false]])
  t.deepEqual(await readdir(dir), ['object.builder.json'], 'no temp files left behind')
})

test('ring file round trip: gzip of JSON with the seed as a decimal string', async (t) => {
  const dir = await tempDir(t)
  const builder = sampleBuilder()
  builder.rebalance({ now: 7_200_000 })
  const { ring: path } = ringPaths(dir)
  await writeRingFile(path, builder.toRingData())
  const data = await readRingFile(path)
  t.deepEqual(data, builder.toRingData())
  const json = JSON.parse((await import('node:zlib')).gunzipSync(await readFile(path)).toString())
  t.is(json.seed, '18364758544493064720')
  t.is(json.version, builder.version)
  const ring = await Ring.load(path)
  t.is(ring.version, builder.version)
  t.is(ring.devices[2], undefined, 'removed device is a hole')
  t.is(ring.primaries(5).length, 3)
})

test('unreadable files are InvalidRing, missing ones RingNotFound', async (t) => {
  const dir = await tempDir(t)
  const { ring, builder } = ringPaths(dir)
  await t.throwsAsync(Ring.load(ring), { code: 'RingNotFound' })
  await t.throwsAsync(readBuilderFile(builder), { code: 'RingNotFound' })
  await writeFile(ring, 'not gzip')
  await t.throwsAsync(Ring.load(ring), { code: 'InvalidRing' })
  await writeFile(ring, gzipSync(JSON.stringify({ format: 'ringstack-ring', formatVersion: 1, version: 1, partPower: 8, replicas: 3, seed: '1', devices: [], assignment: ['', '', ''] })))
  await t.throwsAsync(Ring.load(ring), { code: 'InvalidRing', message: /part power/ })
  const good = sampleBuilder()
  good.rebalance({ now: 7_200_000 })
  const data = good.toRingData()
  await writeRingFile(ring, { ...data, devices: data.devices.slice(0, 1) })
  await t.throwsAsync(Ring.load(ring), { code: 'InvalidRing', message: /unknown device/ })
  await writeFile(builder, '{"format":"ringstack-builder","formatVersion":2}')
  await t.throwsAsync(readBuilderFile(builder), { code: 'InvalidRing', message: /format version/ })
})

test('buildRing creates, rebalances and writes once, then returns the existing ring', async (t) => {
  const dir = await tempDir(t)
  const devices = [0, 1, 2].map((z) => spec(z, 0))
  const first = await buildRing({ ringDir: dir, partPower: 6, replicas: 3, devices })
  t.is(first.version, 1)
  t.is(first.devices.length, 3)
  t.deepEqual((await readdir(dir)).sort(), ['object.builder.json', 'object.ring.gz'])
  const second = await buildRing({ ringDir: dir, partPower: 9, replicas: 1, devices: [] })
  t.is(second.partPower, 6, 'an existing ring wins over the options')
  t.deepEqual(second.primaries(3), first.primaries(3))
  t.is(second.partition('a', 'c', 'o'), first.partition('a', 'c', 'o'))
  // A builder without its ring file gets the ring written from it.
  await rm(ringPaths(dir).ring)
  const third = await buildRing({ ringDir: dir, partPower: 9, replicas: 1, devices: [] })
  t.is(third.version, 1)
  t.is(third.partition('a', 'c', 'o'), first.partition('a', 'c', 'o'))
})
