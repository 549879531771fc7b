import { setTimeout as sleep } from 'node:timers/promises'
import test from 'ava'
import { allInOneForFile } from '../helpers/all-in-one.ts'
import { qemuIo } from './tools.ts'

const cluster = allInOneForFile(test)

const OFFSETS = [0, 3, 9, 17, 30, 44, 58] // MiB: spread over many chunks

/** One round of the loop: every offset gets this round's pattern (partial chunks, FUA on some), then all are verified. */
async function writeAndVerify (uri: string, round: number): Promise<{ code: number, out: string }> {
  const pattern = 1 + (round % 250)
  const writes = OFFSETS.map((mib, i) => `write ${i % 2 === 0 ? '-f ' : ''}-P ${pattern} ${mib}M 256k`)
  const reads = OFFSETS.map((mib) => `read -P ${pattern} ${mib}M 256k`)
  const result = await qemuIo(uri, ...writes, 'flush', ...reads)
  return { code: result.code, out: result.stdout + result.stderr }
}

test.serial('kill -9 of a storage node during a write-and-verify loop: no I/O error; then another dies and the latest data is read back', async (t) => {
  const c = cluster()
  const vol = await c.volume<{ id: string }>('create', 'survivor', '--size', '64M')
  const uri = c.nbdUri(vol.id)
  let round = 0
  const loop = async (rounds: number): Promise<void> => {
    for (let end = round + rounds; round < end; round++) {
      const r = await writeAndVerify(uri, round)
      t.is(r.code, 0, `round ${round}: ${r.out}`)
    }
  }
  await loop(2)
  const first = await c.storagePid('node1')
  // Killed while a round is in flight, not between rounds.
  const running = loop(4)
  await sleep(300)
  process.kill(first, 'SIGKILL')
  await running
  // The supervisor brings node1 back; it missed the writes of the rounds above.
  for (let i = 0; i < 100 && (await c.storagePid('node1').catch(() => first)) === first; i++) await sleep(200)
  t.not(await c.storagePid('node1'), first, 'node1 restarted')
  await c.storageServing('node1')
  await loop(2)
  process.kill(await c.storagePid('node2'), 'SIGKILL')
  const last = round - 1
  const pattern = 1 + (last % 250)
  const readBack = await qemuIo(uri, ...OFFSETS.map((mib) => `read -P ${pattern} ${mib}M 256k`))
  t.is(readBack.code, 0, `latest data with node2 dead and node1 just back: ${readBack.stdout}${readBack.stderr}`)
  await loop(2)
})
