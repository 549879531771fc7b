import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test from 'ava'
import { LevelControlStore } from '../../lib/control-store/index.ts'
import { silentLogger } from '../../lib/logger.ts'
import { ReplicatedChunkStore } from '../../storage/chunks/index.ts'
import { BlockError, VolumeService } from '../../storage/volume/index.ts'
import { sameBytes, TestCluster } from '../helpers/cluster.ts'

const MiB = 1024 * 1024

test('a zombie writer whose lease lapsed is refused by the storage nodes; the new writer never sees its bytes', async (t) => {
  const cluster = await TestCluster.start(t, { nodes: 3 })
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-fencing-'))
  const control = new LevelControlStore({ path: join(dir, 'control') })
  await control.start()
  const chunks = new ReplicatedChunkStore({ placement: { current: () => cluster.ring }, logger: silentLogger() }, {})
  t.teardown(async () => {
    chunks.close()
    await control.stop()
    await rm(dir, { recursive: true, force: true })
  })
  const volumes = new VolumeService({ control, chunks, logger: silentLogger() }, { holder: 'test' })
  const volume = await volumes.createVolume({ project: 'p', name: 'fenced', size: 16 * MiB })

  const zombie = await volumes.openVolume(volume.id)
  await zombie.write(0, Buffer.alloc(4096, 0x11), { fua: false })
  // The zombie's process froze past its ttl and someone else took over: its record now says free.
  const lease = await control.get<{ epoch: number }>(`leases/${volume.id}`)
  await control.commit([{ key: `leases/${volume.id}`, modRevision: lease!.modRevision }], [
    { type: 'put', key: `leases/${volume.id}`, value: { holder: '', epoch: lease!.value.epoch, expiresAt: 0 } }])
  const taker = await volumes.openVolume(volume.id)
  await taker.write(0, Buffer.alloc(4096, 0x22), { fua: true })

  const refused = await t.throwsAsync(zombie.write(0, Buffer.alloc(4096, 0x33), { fua: true }))
  t.true(refused instanceof BlockError && refused.code === 'Fenced', String(refused))
  const newChunk = await t.throwsAsync(zombie.write(8 * MiB, Buffer.alloc(4096, 0x33), { fua: true }))
  t.true(newChunk instanceof BlockError && newChunk.code === 'Fenced', 'a chunk the taker never wrote is fenced too')
  sameBytes(t, await taker.read(0, 4096), Buffer.alloc(4096, 0x22), 'the zombie changed nothing')
  sameBytes(t, await taker.read(8 * MiB, 4096), Buffer.alloc(4096), 'the zombie created nothing')
  await taker.close()
  await zombie.close()
})
