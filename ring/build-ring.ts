import { RingBuilder } from './builder.ts'
import { RingError } from './errors.ts'
import { createHasher, type Hasher } from './hash.ts'
import { readBuilderFile, ringPaths, writeBuilderFile, writeRingFile } from './ring-file.ts'
import { Ring } from './ring.ts'
import type { DeviceSpec } from './types.ts'

export interface BuildRingOptions {
  ringDir: string
  partPower: number
  replicas: number
  minPartHours?: number
  devices: DeviceSpec[]
  hasher?: Hasher
}

/**
 * The ring in `ringDir`, made on first use: creates a builder with these
 * devices, rebalances and writes both files. When a ring already exists it
 * is returned as is (the options do not change it); a builder without its
 * ring file gets the ring written from it.
 */
export async function buildRing (options: BuildRingOptions): Promise<Ring> {
  const paths = ringPaths(options.ringDir)
  const hasher = options.hasher ?? await createHasher()
  const existing = await absentAsUndefined(Ring.load(paths.ring, { hasher }))
  if (existing !== undefined) return existing
  const state = await absentAsUndefined(readBuilderFile(paths.builder))
  let builder: RingBuilder
  if (state !== undefined) {
    builder = RingBuilder.fromState(state)
  } else {
    builder = RingBuilder.create({ partPower: options.partPower, replicas: options.replicas, minPartHours: options.minPartHours })
    for (const device of options.devices) builder.addDevice(device)
  }
  if (builder.version === 0) builder.rebalance()
  await writeBuilderFile(paths.builder, builder.toState())
  const data = builder.toRingData()
  await writeRingFile(paths.ring, data)
  return new Ring(data, hasher)
}

async function absentAsUndefined<T> (promise: Promise<T>): Promise<T | undefined> {
  try {
    return await promise
  } catch (err) {
    if (err instanceof RingError && err.code === 'RingNotFound') return undefined
    throw err
  }
}
