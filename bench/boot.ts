import { spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { copyFile, mkdtemp, readFile, rm } from 'node:fs/promises'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { AllInOne } from '../cli/all-in-one.ts'
import { ApiClient } from '../cli/api-client.ts'
import { detectAccelerator } from '../compute/agent/accelerator.ts'
import { silentLogger } from '../lib/logger.ts'
import { guestImage } from '../test/guest/guest-image.ts'
import { markdownTable } from './load.ts'

const MARKER = 'GUEST-BOOT-OK'
const BOOT_ROUNDS = 3
const CLONE_ROUNDS = 10
const GiB = 1024 ** 3
const TARGET_RATIO = 1.3
/** A boot on a loaded 2-core TCG host stays well within this. */
const BOOT_TIMEOUT_MS = 180_000

type Json = Record<string, unknown>

/** Milliseconds from the start (create call or QEMU spawn) to the firmware's first console byte, and to the marker. */
interface Boot { firstOutput: number, marker: number }

/**
 * Boot-from-image through the ring (API call → clone → schedule → agent →
 * QEMU on NBD → the guest's marker in the agent's console log) against
 * QEMU booting the same raw image from a local file, alternating round by
 * round so both see the same background load, with QEMU alone on a clone
 * over NBD in between to tell the data path's share from the controller's; then the cost of
 * cloning a volume from an 18 MiB and from a fully written 1 GiB image.
 * `seconds` does not apply: each phase runs a fixed number of rounds.
 */
export async function bootBench (): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'ringstack-bench-boot-'))
  const cluster = new AllInOne({ dataDir: join(dir, 'ringstack'), host: '127.0.0.1', httpPort: 0, nbdPort: 0, storagePortBase: 0, partPower: 10, computePort: 0 },
    { logger: silentLogger() })
  try {
    await cluster.start()
    const admin = cluster.newAdmin!
    const api = new ApiClient({ url: cluster.httpEndpoint, user: admin.user, password: admin.password, project: admin.project })
    const raw = await guestImage()
    // The cached image stays pristine: the local QEMU boots a copy.
    const localCopy = join(dir, 'local.img')
    await copyFile(raw, localCopy)
    const guest = await upload(api, 'bench-guest', (await readFile(raw)).length, fileChunks(raw))
    const accelerator = await detectAccelerator()

    const ring: Boot[] = []
    const nbd: Boot[] = []
    const local: Boot[] = []
    for (let round = 1; round <= BOOT_ROUNDS; round++) {
      progress(`boot round ${round}/${BOOT_ROUNDS}: through the ring`)
      ring.push(await ringBoot(api, join(dir, 'ringstack', 'compute'), guest, round))
      progress(`boot round ${round}/${BOOT_ROUNDS}: QEMU on the NBD export`)
      nbd.push(await nbdBoot(api, cluster.nbdEndpoint!, guest, round, accelerator))
      progress(`boot round ${round}/${BOOT_ROUNDS}: local file`)
      local.push(await qemuBoot({ driver: 'file', 'node-name': 'boot', filename: localCopy }, accelerator))
    }
    const ratio = median(ring.map((b) => b.marker)) / median(local.map((b) => b.marker))

    progress('uploading a fully written 1 GiB image')
    const big = await upload(api, 'bench-1g', GiB, randomChunks(GiB))
    const clones = { small: [] as number[], big: [] as number[] }
    for (let round = 1; round <= CLONE_ROUNDS; round++) {
      clones.small.push(await cloneTime(api, guest, `clone-small-${round}`))
      clones.big.push(await cloneTime(api, big, `clone-big-${round}`))
    }

    const seconds = (v: number): string => (v / 1000).toFixed(2)
    const ms = (v: number): string => v.toFixed(1)
    return [
      `accelerator: ${accelerator}, guest image ${raw} (18 MiB raw), flavor m1.tiny (1 vCPU, 128 MiB, 1 GiB boot volume); ` +
        `${BOOT_ROUNDS} boot and ${CLONE_ROUNDS} clone rounds (--seconds does not apply); load average at the end ${loadavg().map((l) => l.toFixed(1)).join(' ')}`,
      '',
      markdownTable([
        ['boot: create call (or QEMU spawn) → marker, s (→ first console byte)', ...Array.from({ length: BOOT_ROUNDS }, (_, i) => `round ${i + 1}`), 'median'],
        ...([['ringstack (image → clone → agent → QEMU over NBD)', ring], ['QEMU alone on the same kind of clone over NBD (clone untimed)', nbd],
          ['QEMU on the local raw file', local]] as const).map(([label, boots]) => [label,
          ...boots.map((b) => `${seconds(b.marker)} (${seconds(b.firstOutput)})`),
          `${seconds(median(boots.map((b) => b.marker)))} (${seconds(median(boots.map((b) => b.firstOutput)))})`])
      ]),
      '',
      `ring/local boot ratio (medians): ${ratio.toFixed(2)}x (target <= ${TARGET_RATIO}x) ${ratio <= TARGET_RATIO ? 'MET' : 'NOT MET'}; ` +
        `NBD data path alone: ${(median(nbd.map((b) => b.marker)) / median(local.map((b) => b.marker))).toFixed(2)}x`,
      '',
      markdownTable([
        ['volume clone from image (ms)', ...Array.from({ length: CLONE_ROUNDS }, (_, i) => `round ${i + 1}`), 'median'],
        ['18 MiB image', ...clones.small.map(ms), ms(median(clones.small))],
        ['1 GiB image (fully written)', ...clones.big.map(ms), ms(median(clones.big))]
      ]),
      '',
      `clone 1 GiB / 18 MiB (medians): ${(median(clones.big) / median(clones.small)).toFixed(2)}x (target: equal within noise)`
    ].join('\n')
  } finally {
    await cluster.stop()
    await rm(dir, { recursive: true, force: true })
  }
}

/**
 * The marker is watched for in the agent's console log file (the one the
 * console API serves): polling the API itself every few milliseconds would
 * steal the CPU the TCG guest boots on. The API's console is checked once
 * at the end.
 */
async function ringBoot (api: ApiClient, agentDir: string, image: string, round: number): Promise<Boot> {
  const started = performance.now()
  const { server } = await api.compute<{ server: Json }>('POST', '/servers', {
    server: { name: `bench-${round}`, imageRef: image, flavorRef: 'm1.tiny', metadata: { 'fw_cfg:opt/guest/mode': 'stay' } }
  })
  const id = String(server.id)
  const log = join(agentDir, 'instances', id, 'console.log')
  let firstOutput: number | undefined
  try {
    for (const until = Date.now() + BOOT_TIMEOUT_MS; ;) {
      const text = await readFile(log, 'latin1').catch(() => '')
      if (text !== '') firstOutput ??= performance.now() - started
      if (text.includes(MARKER)) {
        const marker = performance.now() - started
        const { output } = await api.compute<{ output: string }>('POST', `/servers/${id}/action`, { 'os-getConsoleOutput': { length: null } })
        if (!output.includes(MARKER)) throw new Error('the console API does not show what the console log has')
        return { firstOutput: firstOutput!, marker }
      }
      if (Date.now() > until) {
        const { server: now } = await api.compute<{ server: Json }>('GET', `/servers/${id}`)
        throw new Error(`no ${MARKER} from the ring boot in ${BOOT_TIMEOUT_MS} ms (server ${String(now.status)} ${JSON.stringify(now.fault ?? null)})`)
      }
      await sleep(20)
    }
  } finally {
    await api.compute('DELETE', `/servers/${id}`)
  }
}

/** QEMU by itself on a clone of the image served by the gateway's NBD target: the data path without controller and agent. */
async function nbdBoot (api: ApiClient, endpoint: string, image: string, round: number, accelerator: string): Promise<Boot> {
  const { volume } = await api.volume<{ volume: Json }>('POST', '/volumes', { volume: { name: `bench-nbd-${round}`, imageRef: image, size: 1 } })
  const [host, port] = [endpoint.slice(0, endpoint.lastIndexOf(':')), endpoint.slice(endpoint.lastIndexOf(':') + 1)]
  try {
    return await qemuBoot({ driver: 'nbd', 'node-name': 'boot', server: { type: 'inet', host, port }, export: String(volume.id), cache: { direct: true } }, accelerator)
  } finally {
    // The export gives the volume's lease back once QEMU's connection is gone.
    for (let attempt = 0; ; attempt++) {
      try {
        await api.volume('DELETE', `/volumes/${String(volume.id)}`)
        break
      } catch (err) {
        if (attempt >= 100) throw err
        await sleep(100)
      }
    }
  }
}

/** The guest on one boot disk, with the agent's machine options (compute/agent/qemu-command.ts) minus QMP and the console socket. */
async function qemuBoot (disk: Json, accelerator: string): Promise<Boot> {
  const started = performance.now()
  const qemu = spawn('qemu-system-x86_64', [
    '-machine', 'pc', '-accel', accelerator, '-smp', '1', '-m', '128', '-nodefaults', '-no-user-config', '-display', 'none',
    '-serial', 'stdio', '-netdev', 'user,id=net0', '-device', JSON.stringify({ driver: 'virtio-net-pci', netdev: 'net0', romfile: '' }),
    '-blockdev', JSON.stringify(disk),
    '-device', JSON.stringify({ driver: 'virtio-blk-pci', drive: 'boot', bootindex: 0 }),
    '-fw_cfg', 'name=opt/guest/mode,string=stay'
  ], { stdio: ['ignore', 'pipe', 'ignore'] })
  try {
    return await new Promise((resolve, reject) => {
      let seen = ''
      let firstOutput: number | undefined
      const timer = setTimeout(() => reject(new Error(`no ${MARKER} from the local boot in ${BOOT_TIMEOUT_MS} ms`)), BOOT_TIMEOUT_MS)
      qemu.stdout.on('data', (data: Buffer) => {
        firstOutput ??= performance.now() - started
        seen = (seen + data.toString('latin1')).slice(-4096)
        if (seen.includes(MARKER)) {
          clearTimeout(timer)
          resolve({ firstOutput, marker: performance.now() - started })
        }
      })
      qemu.once('exit', (code) => { clearTimeout(timer); reject(new Error(`local QEMU exited (${code}) before ${MARKER}`)) })
    })
  } finally {
    qemu.kill('SIGKILL')
  }
}

async function cloneTime (api: ApiClient, image: string, name: string): Promise<number> {
  const started = performance.now()
  const { volume } = await api.volume<{ volume: Json }>('POST', '/volumes', { volume: { name, imageRef: image } })
  const took = performance.now() - started
  await api.volume('DELETE', `/volumes/${String(volume.id)}`)
  return took
}

/** Creates and uploads a raw image; resolves with its id. */
async function upload (api: ApiClient, name: string, size: number, chunks: AsyncIterable<Buffer>): Promise<string> {
  const image = await api.image<Json>('POST', '/images', { name, disk_format: 'raw', container_format: 'bare' })
  const id = String(image.id)
  const body = ReadableStream.from((async function * () { for await (const chunk of chunks) yield new Uint8Array(chunk) })())
  await api.uploadImage(id, body)
  const uploaded = await api.image<Json>('GET', `/images/${id}`)
  if (uploaded.status !== 'active' || uploaded.size !== size) throw new Error(`image ${name} is ${String(uploaded.status)} with ${String(uploaded.size)} bytes`)
  return id
}

async function * fileChunks (path: string): AsyncGenerator<Buffer> {
  yield await readFile(path)
}

/** Incompressible bytes, so every chunk of the image is really written. */
async function * randomChunks (size: number): AsyncGenerator<Buffer> {
  for (let left = size; left > 0; left -= 4 * 1024 * 1024) yield randomBytes(Math.min(left, 4 * 1024 * 1024))
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = Math.floor(sorted.length / 2)
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function progress (message: string): void {
  process.stderr.write(`boot bench: ${message}\n`)
}
