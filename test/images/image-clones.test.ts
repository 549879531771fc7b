import { join } from 'node:path'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { countChunkFiles } from '../volumes/chunk-files.ts'
import { chunkFilesSettle, MiB, sparseDisk, type Image } from './glance.ts'

const cluster = allInOneForFile(test)

interface Volume { id: string, snapshot_id: string | null }

test.serial('a volume from an image copies nothing: the same for an 18 MiB and a 1 GiB image', async (t) => {
  const c = cluster()
  for (const [name, size] of [['small', 18 * MiB], ['large', 1024 * MiB]] as const) {
    const file = join(c.dir, `${name}.raw`)
    await sparseDisk(file, size)
    const image = await c.image<Image>('create', `clone-${name}`, '--file', file, '--disk-format', 'raw')
    t.is(image.size, size)
    const before = await countChunkFiles(c.dir)
    await c.volume('create', `clone-${name}-vol`, '--image', image.id)
    t.is(await countChunkFiles(c.dir), before, `a volume from the ${name} image is metadata only`)
  }
})

test.serial('delete is refused while a volume reads the image, allowed once it is flattened or deleted; the bytes go', async (t) => {
  const c = cluster()
  const file = join(c.dir, 'base.raw')
  await sparseDisk(file, 18 * MiB)
  const baseline = await countChunkFiles(c.dir)
  const image = await c.image<Image>('create', 'base', '--file', file, '--disk-format', 'raw')
  t.true(await countChunkFiles(c.dir) > baseline)
  const flat = await c.volume<Volume>('create', 'base-flat', '--image', 'base')
  const gone = await c.volume<Volume>('create', 'base-gone', '--image', 'base')

  const refused = await t.throwsAsync(c.image('delete', 'base'))
  t.regex(refused.message, /409 image .* is in use by volume /)
  t.regex(refused.message, /volume base-flat/)
  t.regex(refused.message, /volume base-gone/)
  t.is((refused as Error & { exitCode?: number }).exitCode, 1)

  await c.volume('flatten', flat.id)
  await c.volume('delete', gone.id)
  const afterVolumes = await countChunkFiles(c.dir)
  await c.image('delete', 'base')
  const missing = await t.throwsAsync(c.image('show', image.id))
  t.regex(missing.message, /404/)
  // The flattened volume keeps its own copy; the image's three chunks (three replicas each) are dropped.
  t.is(await chunkFilesSettle(c, afterVolumes - 9), afterVolumes - 9, 'the image layer is dropped from the nodes')
  const still = await c.volume<Volume>('show', flat.id)
  t.is(still.id, flat.id)
})
