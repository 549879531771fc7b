import { execFile, spawn } from 'node:child_process'
import { mkdtemp, readFile, rm, truncate, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AllInOne } from '../cli/all-in-one.ts'
import { ApiClient } from '../cli/api-client.ts'
import { silentLogger } from '../lib/logger.ts'
import { markdownTable, memoryMiB } from './load.ts'
import { freePort } from '../lib/free-port.ts'

/** The four fio workloads of the issue; every device is filled first, so reads never hit holes. */
const WORKLOADS = [
  { label: '1M seq write', rw: 'write', bs: '1m', unit: 'MiB/s' },
  { label: '4k randread', rw: 'randread', bs: '4k', unit: 'IOPS' },
  { label: '4k randwrite', rw: 'randwrite', bs: '4k', unit: 'IOPS' },
  { label: '1M seq read', rw: 'read', bs: '1m', unit: 'MiB/s' }
] as const

const SIZE = 1024 ** 3
const ISSUE_TARGETS: Record<string, number> = { '4k randread': 0.5, '4k randwrite': 0.3, '1M seq read': 0.5, '1M seq write': 0.3 }

interface Target {
  name: string
  uri: string
  stop: () => Promise<void>
  /** Resident memory of the serving process, MiB (current, peak). */
  rss?: () => Promise<{ rss: number, peak: number }>
}

async function run (command: string, args: string[]): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(command, args, { maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${command}: ${stderr || err.message}`))
      else resolve(stdout)
    })
  })
}

/** Writes the whole device once (1 MiB sequential), unmeasured. */
async function fill (uri: string): Promise<void> {
  await run('fio', ['--name=fill', '--ioengine=nbd', `--uri=${uri}`, '--rw=write', '--bs=1m', '--iodepth=16', `--size=${SIZE}`, '--output-format=json'])
}

/** One fio job (ioengine=nbd, iodepth 16) against an NBD URI; returns IOPS or MiB/s. */
async function fio (uri: string, workload: typeof WORKLOADS[number], seconds: number, dir: string): Promise<number> {
  // fio's nbd engine prints a line of its own on stdout: the JSON goes to a file.
  const output = join(dir, 'fio.json')
  await run('fio', ['--name=bench', '--ioengine=nbd', `--uri=${uri}`, `--rw=${workload.rw}`, `--bs=${workload.bs}`,
    '--iodepth=16', `--size=${SIZE}`, `--runtime=${seconds}`, '--ramp_time=2', '--time_based', '--output-format=json', `--output=${output}`])
  const job = (JSON.parse(await readFile(output, 'utf8')) as { jobs: Array<{ read: { iops: number, bw_bytes: number }, write: { iops: number, bw_bytes: number } }> }).jobs[0]!
  const side = workload.rw.includes('read') ? job.read : job.write
  return workload.unit === 'IOPS' ? side.iops : side.bw_bytes / 1024 ** 2
}

async function waitForNbd (uri: string): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      await run('nbdinfo', ['--size', uri])
      return
    } catch (err) {
      if (i > 50) throw err
      await sleep(100)
    }
  }
}

/** A local file served by a peer NBD server (commands as in the block-peers notes). */
async function filePeer (dir: string, name: 'qemu-nbd' | 'nbdkit'): Promise<Target> {
  const image = join(dir, `${name}.img`)
  await writeFile(image, '')
  await truncate(image, SIZE)
  const port = await freePort()
  const args = name === 'qemu-nbd'
    ? ['-f', 'raw', '-b', '127.0.0.1', '-p', String(port), '-x', '', '-t', '-e', '16', image]
    : ['-f', '-i', '127.0.0.1', '-p', String(port), 'file', `file=${image}`]
  const child = spawn(name, args, { stdio: 'ignore' })
  const uri = `nbd://127.0.0.1:${port}/`
  await waitForNbd(uri)
  return {
    name,
    uri,
    rss: async () => await memoryMiB(child.pid!),
    stop: async () => {
      child.kill('SIGTERM')
      await new Promise((resolve) => child.once('exit', resolve))
    }
  }
}

async function ringstackTarget (dir: string): Promise<Target> {
  const cluster = new AllInOne({ dataDir: join(dir, 'ringstack'), host: '127.0.0.1', httpPort: 0, nbdPort: 0, storagePortBase: 0, partPower: 10 },
    { logger: silentLogger() })
  await cluster.start()
  const admin = cluster.newAdmin!
  const api = new ApiClient({ url: cluster.httpEndpoint, user: admin.user, password: admin.password, project: admin.project })
  const { volume } = await api.volume<{ volume: { id: string } }>('POST', '/volumes', { volume: { name: 'bench', 'ringstack:size_bytes': SIZE } })
  const uri = `nbd://${cluster.nbdEndpoint}/${volume.id}`
  return { name: 'ringstack', uri, rss: async () => await memoryMiB(cluster.gatewayPid!), stop: async () => await cluster.stop() }
}

/**
 * fio (ioengine=nbd, iodepth 16) against a ringstack volume (3 replicas)
 * and, in the same run, qemu-nbd and nbdkit serving a local file, workload
 * by workload so all see the same background noise; ratios against
 * qemu-nbd as the issue sets its targets.
 */
export async function nbdBench (options: { seconds: number }): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-nbd-'))
  const targets: Target[] = []
  try {
    targets.push(await ringstackTarget(dir), await filePeer(dir, 'qemu-nbd'), await filePeer(dir, 'nbdkit'))
    for (const target of targets) {
      process.stderr.write(`nbd bench: filling ${target.name}\n`)
      await fill(target.uri)
    }
    const rows = [['workload', ...targets.map((t) => t.name), 'ringstack/qemu-nbd', 'target']]
    for (const workload of WORKLOADS) {
      const values: number[] = []
      for (const target of targets) {
        process.stderr.write(`nbd bench: ${workload.label} on ${target.name}\n`)
        values.push(await fio(target.uri, workload, options.seconds, dir))
      }
      const ratio = values[0]! / values[1]!
      rows.push([`${workload.label} (${workload.unit})`, ...values.map((v) => v.toFixed(0)), `${ratio.toFixed(2)}x`, `>= ${ISSUE_TARGETS[workload.label]}x`])
    }
    const lines = [markdownTable(rows)]
    const { rss, peak } = await targets[0]!.rss!()
    lines.push('', `ringstack gateway RSS after the run: ${rss.toFixed(0)} MiB (peak ${peak.toFixed(0)} MiB)`)
    return lines.join('\n')
  } finally {
    for (const target of targets) await target.stop().catch(() => {})
    await rm(dir, { recursive: true, force: true })
  }
}
