import test from 'ava'
import { CreateBucketCommand, DeleteObjectCommand, GetObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { createHash, randomBytes, randomInt } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import { Ring } from '../../ring/index.ts'
import { GrpcStorageNodeClient } from '../../storage/index.ts'
import { allInOneForFile, type RunningAllInOne } from '../helpers/all-in-one.ts'
import { bucketName, s3Client } from '../s3/clients.ts'

const cluster = allInOneForFile(test, { args: ['--replication-interval', '1'] })

const LOAD_MS = 60_000
const KILL_EVERY_MS = 10_000
const WORKERS = 6
const NODES = ['node1', 'node2', 'node3']

type State = { kind: 'live', md5: string } | { kind: 'deleted' } | { kind: 'unknown' }

function md5 (data: Uint8Array): string {
  return createHash('md5').update(data).digest('hex')
}

/** Kills a random storage node with SIGKILL every KILL_EVERY_MS (its supervisor restarts it), one down at a time. */
async function killer (c: RunningAllInOne, until: number, log: string[]): Promise<void> {
  while (Date.now() + KILL_EVERY_MS < until) {
    await sleep(KILL_EVERY_MS - 2_000 + randomInt(4_000))
    const node = NODES[randomInt(NODES.length)]!
    process.kill(await c.storagePid(node), 'SIGKILL')
    log.push(`${new Date().toISOString()} kill -9 ${node}`)
    await c.storageServing(node, 60_000)
  }
}

/** Every partition's replicas hold the same newest versions (digests equal on all three nodes); ms it took. */
async function untilReplicasMatch (c: RunningAllInOne, timeoutMs: number): Promise<number> {
  const started = Date.now()
  const ring = await Ring.load(c.ringPath)
  const clients = new Map<string, GrpcStorageNodeClient>()
  const client = (host: string, port: number): GrpcStorageNodeClient => {
    const address = `${host}:${port}`
    let found = clients.get(address)
    if (found === undefined) clients.set(address, found = new GrpcStorageNodeClient(address))
    return found
  }
  try {
    for (let partition = 0; partition < ring.partitionCount; partition++) {
      for (;;) {
        const digests = await Promise.all(ring.primaries(partition).map(async (d) =>
          JSON.stringify([...(await client(d.host, d.port).partitionDigest(d.device, partition).catch(() => new Map([['unreachable', '']])))].sort())))
        if (new Set(digests).size === 1) break
        if (Date.now() - started > timeoutMs) throw new Error(`partition ${partition}: replicas still differ after ${timeoutMs} ms`)
        await sleep(500)
      }
    }
  } finally {
    for (const c of clients.values()) c.close()
  }
  return Date.now() - started
}

test('60 s of S3 PUT/GET/DELETE while a storage node is kill -9ed every ~10 s: no acked write lost, no wrong byte, deletes stay deleted, replicas converge', async (t) => {
  const c = cluster()
  const s3 = s3Client(c)
  const bucket = bucketName('chaos')
  await s3.send(new CreateBucketCommand({ Bucket: bucket }))
  const states = new Map<string, State>()
  const until = Date.now() + LOAD_MS
  const kills: string[] = []
  let acked = 0
  let failed = 0
  let wrong = 0
  const worker = async (id: number): Promise<void> => {
    const mine: string[] = []
    for (let n = 0; Date.now() < until; n++) {
      const roll = Math.random()
      const key = mine.length > 0 && roll < 0.6 ? mine[randomInt(mine.length)]! : `w${id}/k${n}`
      const state = states.get(key)
      try {
        if (state === undefined) {
          const body = randomBytes(randomInt(1, 256) * 1024)
          states.set(key, { kind: 'unknown' })
          await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body }))
          states.set(key, { kind: 'live', md5: md5(body) })
          mine.push(key)
          acked++
        } else if (roll < 0.45) {
          await check(key)
        } else if (state.kind === 'live') {
          states.set(key, { kind: 'unknown' })
          await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }))
          states.set(key, { kind: 'deleted' })
          acked++
        }
      } catch (err) {
        if (err instanceof WrongAnswer) throw err
        failed++
      }
    }
  }
  class WrongAnswer extends Error {}
  const check = async (key: string): Promise<void> => {
    const state = states.get(key)
    if (state === undefined || state.kind === 'unknown') return
    let got: string | undefined
    try {
      const answer = await s3.send(new GetObjectCommand({ Bucket: bucket, Key: key }))
      got = md5(await answer.Body!.transformToByteArray())
    } catch (err) {
      if ((err as { name?: string }).name !== 'NoSuchKey') throw err
    }
    const expected = state.kind === 'live' ? state.md5 : undefined
    if (got !== expected) {
      wrong++
      throw new WrongAnswer(`${key}: expected ${expected ?? 'NoSuchKey'}, got ${got ?? 'NoSuchKey'}`)
    }
  }
  await Promise.all([killer(c, until, kills), ...Array.from({ length: WORKERS }, async (_, i) => await worker(i))])
  t.log(`${acked} acked writes and deletes, ${failed} refused or failed during the kills; ${kills.length} kills`)
  t.true(kills.length >= 4, 'nodes were killed throughout')
  t.true(acked > 50, 'the load made progress')

  // Every node is back: every acked write reads back exactly, every acked delete stays deleted.
  for (const node of NODES) await c.storageServing(node, 60_000)
  for (const key of states.keys()) {
    for (let attempt = 0; ; attempt++) {
      try {
        await check(key)
        break
      } catch (err) {
        if (err instanceof WrongAnswer || attempt >= 20) throw err
        await sleep(250)
      }
    }
  }
  t.is(wrong, 0)
  const ms = await untilReplicasMatch(c, 120_000)
  t.log(`every partition's replicas matched ${ms} ms after the load stopped`)
  t.pass()
})
