import { randomBytes } from 'node:crypto'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AllInOne } from '../cli/all-in-one.ts'
import { silentLogger } from '../lib/logger.ts'
import { closedLoop, formatTable, memoryMiB, type PhaseResult } from './load.ts'
import { BenchS3Client, type S3Endpoint } from './s3-client.ts'
import { SwiftPeer } from './swift-peer.ts'

interface Phase {
  label: string
  size: number
  concurrency: number
}

const PHASES: Phase[] = [
  { label: '4 KiB', size: 4096, concurrency: 16 },
  { label: '8 MiB', size: 8 * 1024 * 1024, concurrency: 4 }
]

interface System {
  name: string
  endpoint: S3Endpoint
}

/** One PUT phase then one GET phase of a size against one system, through the same client. */
async function measure (system: System, phase: Phase, seconds: number): Promise<[PhaseResult, PhaseResult]> {
  const client = new BenchS3Client(system.endpoint, phase.concurrency)
  const bucket = `bench-${randomBytes(4).toString('hex')}`
  try {
    await client.send('PUT', `/${bucket}`)
    const body = randomBytes(phase.size)
    const written: string[] = []
    const put = await closedLoop(`${system.name} PUT ${phase.label} c${phase.concurrency}`, phase.concurrency, seconds, async (worker, seq) => {
      const key = `o-${worker}-${seq}`
      await client.send('PUT', `/${bucket}/${key}`, body, body.length)
      written.push(key)
      return phase.size
    })
    const get = await closedLoop(`${system.name} GET ${phase.label} c${phase.concurrency}`, phase.concurrency, seconds, async () => {
      const key = written[Math.floor(Math.random() * written.length)]!
      const { bytes } = await client.send('GET', `/${bucket}/${key}`)
      if (bytes !== phase.size) throw new Error(`GET returned ${bytes} of ${phase.size} bytes`)
      return bytes
    })
    return [put, get]
  } finally {
    client.close()
  }
}

async function * zeros (total: number): AsyncGenerator<Buffer> {
  const block = Buffer.alloc(1024 * 1024)
  for (let sent = 0; sent < total; sent += block.length) yield block.subarray(0, Math.min(block.length, total - sent))
}

/**
 * S3 PUT/GET through ringstack's gateway and through Swift's s3api, in one
 * run on one machine with one load generator, phases interleaved so both
 * see the same background noise; then a 1 GiB PUT and GET through the
 * gateway with its peak RSS.
 */
export async function s3Bench (options: { seconds: number }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-'))
  const cluster = new AllInOne({ dataDir: dir, host: '127.0.0.1', httpPort: 0, storagePortBase: 0, partPower: 10 }, { logger: silentLogger() })
  const swift = new SwiftPeer(15080)
  const lines: string[] = []
  try {
    await cluster.start()
    const credentials = JSON.parse(await readFile(join(dir, 's3-credentials.json'), 'utf8')) as { accessKeyId: string, secretAccessKey: string }
    const systems: System[] = [{ name: 'ringstack', endpoint: { url: new URL(cluster.httpEndpoint), ...credentials } }]
    if (swift.available()) systems.push({ name: 'swift', endpoint: await swift.start() })
    else lines.push('(Swift peer not available: run bench/setup-peers; showing ringstack alone)')

    const results: PhaseResult[] = []
    const ratios: string[] = ['| phase | ringstack/swift |', '|---|---:|']
    for (const phase of PHASES) {
      const perSystem = []
      for (const system of systems) perSystem.push(await measure(system, phase, options.seconds))
      results.push(...perSystem.flat())
      if (perSystem.length === 2) {
        for (const i of [0, 1]) {
          const [ours, theirs] = [perSystem[0]![i]!, perSystem[1]![i]!]
          ratios.push(`| ${i === 0 ? 'PUT' : 'GET'} ${phase.label} c${phase.concurrency} | ${((ours.ops / ours.seconds) / (theirs.ops / theirs.seconds)).toFixed(2)}x |`)
        }
      }
    }
    lines.push(formatTable(results))
    if (ratios.length > 2) lines.push('', ...ratios)

    const gatewayPid = cluster.gatewayPid
    if (gatewayPid !== undefined) {
      const client = new BenchS3Client(systems[0]!.endpoint, 1)
      const before = (await memoryMiB(gatewayPid)).peak
      // The kernel's peak RSS from here on: the target is about the 1 GiB transfer, not the load phases before it.
      await writeFile(`/proc/${gatewayPid}/clear_refs`, '5')
      const gib = 1024 ** 3
      await client.send('PUT', '/bench-memory')
      let t0 = performance.now()
      await client.send('PUT', '/bench-memory/one-gib', zeros(gib), gib)
      const putSeconds = (performance.now() - t0) / 1000
      t0 = performance.now()
      const { bytes } = await client.send('GET', '/bench-memory/one-gib')
      const getSeconds = (performance.now() - t0) / 1000
      client.close()
      if (bytes !== gib) throw new Error(`1 GiB GET returned ${bytes} bytes`)
      lines.push('', `1 GiB through the gateway: PUT ${(1024 / putSeconds).toFixed(0)} MiB/s, GET ${(1024 / getSeconds).toFixed(0)} MiB/s; ` +
        `gateway peak RSS ${before.toFixed(0)} MiB during the load phases, ${(await memoryMiB(gatewayPid)).peak.toFixed(0)} MiB during the 1 GiB PUT and GET`)
    }
    return lines.join('\n')
  } finally {
    await swift.stop()
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  }
}
