import { createHash } from 'node:crypto'
import { mkdtemp, readFile, rm } from 'node:fs/promises'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { ComputeError, type ComputeAgentClient, type DiskSpec, type InstanceSpec } from '../../compute/index.ts'
import { guestImage } from '../guest/guest-image.ts'
import { allInOneForFile, type RunningAllInOne } from '../helpers/all-in-one.ts'
import { qemuIo, tool } from '../volumes/tools.ts'
import { qemuPids } from '../helpers/processes.ts'
import { AgentProcess } from './agent-process.ts'

// Real processes throughout: a ringstack all-in-one serves the volumes over
// NBD, a `ringstack compute` agent runs QEMU (TCG) on the test guest. Boots
// run one after another (serial tests): TCG is CPU-bound.

const cluster = allInOneForFile(test)
let agent: AgentProcess | undefined
let dir = ''

test.serial.before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'rs-compute-'))
  agent = await AgentProcess.start(dir)
})

test.after.always(async () => {
  await agent?.stop()
  await rm(dir, { recursive: true, force: true })
})

function client (): ComputeAgentClient {
  return agent!.client
}

interface Volume { id: string }

function nbdDisk (c: RunningAllInOne, volumeId: string, boot: boolean): DiskSpec {
  const url = new URL(c.nbdUri(volumeId))
  return { host: url.hostname, port: Number(url.port), export: volumeId, serial: volumeId, boot }
}

/** A ringstack volume holding the test guest. */
async function bootVolume (t: ExecutionContext, name: string): Promise<Volume> {
  const c = cluster()
  const volume = await c.volume<Volume>('create', name, '--size', '64M')
  const copied = await tool('qemu-img', ['convert', '-n', '-f', 'raw', '-O', 'raw', await guestImage(), c.nbdUri(volume.id)])
  t.is(copied.code, 0, copied.stderr)
  return volume
}

function spec (id: string, disks: DiskSpec[], mode = 'stay'): InstanceSpec {
  return { id, vcpus: 1, ramMiB: 128, disks, fwCfg: { 'opt/guest/mode': mode } }
}

/** Polls the console until `marker` has appeared `times` times; returns the console text. */
async function consoleShows (id: string, marker: string, times = 1, timeoutMs = 120_000): Promise<string> {
  for (const until = Date.now() + timeoutMs; ;) {
    const text = (await client().console(id)).toString('latin1')
    if (text.split(marker).length - 1 >= times) return text
    if (Date.now() > until) throw new Error(`no ${marker} (x${times}) on ${id}'s console in ${timeoutMs} ms:\n${text.slice(-3000)}\n${agent!.log().slice(-3000)}`)
    await new Promise((resolve) => setTimeout(resolve, 250))
  }
}

function line (text: string, marker: string, index = -1): string {
  const lines = text.split('\n').filter((l) => l.includes(marker))
  return lines.at(index)?.slice(lines.at(index)!.indexOf(marker)).trim() ?? ''
}

async function alive (pid: number): Promise<boolean> {
  return await readFile(`/proc/${pid}/cmdline`, 'utf8').then((c) => c !== '', () => false)
}

async function until (what: string, check: () => Promise<boolean>, timeoutMs = 30_000): Promise<void> {
  for (const end = Date.now() + timeoutMs; !await check();) {
    if (Date.now() > end) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
}

/** The first MiB of a volume, read over NBD. */
async function firstMiBSha256 (c: RunningAllInOne, volumeId: string): Promise<string> {
  const out = join(dir, `${volumeId}.raw`)
  const copied = await tool('nbdcopy', [c.nbdUri(volumeId), out])
  if (copied.code !== 0) throw new Error(copied.stderr)
  const bytes = await readFile(out)
  await rm(out)
  return createHash('sha256').update(bytes.subarray(0, 1024 * 1024)).digest('hex')
}

test.serial('boots from a ringstack volume over NBD; a data volume attached live is written by the guest and released on detach', async (t) => {
  const c = cluster()
  const boot = await bootVolume(t, 'vm-a-boot')
  const data = await c.volume<Volume>('create', 'vm-a-data', '--size', '16M')
  const started = Date.now()
  const info = await client().startInstance(spec('vm-a', [nbdDisk(c, boot.id, true)]))
  t.is(info.state, 'running')
  t.true(info.ssh !== undefined && info.ssh.port > 0, 'a host port forwards to the guest\'s port 22')
  let text = await consoleShows('vm-a', 'GUEST-READY')
  t.log(`start call to GUEST-BOOT-OK and GUEST-READY: ${Date.now() - started} ms (TCG)`)
  t.true(text.includes('GUEST-BOOT-OK'))
  // virtio-blk serials are 20 bytes: the guest sees the volume id's first 20 characters.
  t.is(line(text, 'GUEST-BLK name=vda'), `GUEST-BLK name=vda sectors=${64 * 2048} ro=0 serial=${boot.id.slice(0, 20)}`)
  t.is((await client().capacity()).instances, 1)

  const attached = await client().attachVolume('vm-a', nbdDisk(c, data.id, false))
  t.deepEqual(attached.attachments.map((a) => a.serial), [data.id])
  text = await consoleShows('vm-a', 'GUEST-DATA-OK')
  t.true(text.includes('GUEST-HOTPLUG-ADD name=vdb'))
  t.is(line(text, 'GUEST-BLK name=vdb'), `GUEST-BLK name=vdb sectors=${16 * 2048} ro=0 serial=${data.id.slice(0, 20)}`)
  const guestSha = /sha256=([0-9a-f]{64})/.exec(line(text, 'GUEST-DATA-OK'))?.[1]
  const refused = await qemuIo(c.nbdUri(data.id), 'write -P 0x11 8M 4k')
  t.not(refused.code, 0, 'while QEMU holds the volume, another writer is refused (the lease)')

  const detached = await client().detachVolume('vm-a', data.id)
  t.deepEqual(detached.attachments, [])
  await consoleShows('vm-a', 'GUEST-HOTPLUG-REMOVE name=vdb')
  const written = await qemuIo(c.nbdUri(data.id), 'write -P 0x11 8M 4k')
  t.is(written.code, 0, `detached, the volume takes a new writer: ${written.stderr}`)
  t.is(await firstMiBSha256(c, data.id), guestSha ?? '(none printed)', 'the host reads back what the guest wrote')

  const errors = await t.throwsAsync(client().detachVolume('vm-a', data.id), { instanceOf: ComputeError })
  t.is(errors.code, 'NotFound')
  await client().deleteInstance('vm-a')
  t.deepEqual(await qemuPids(join(dir, 'data', 'instances', 'vm-a')), [])
})

test.serial('stop powers off through ACPI, start boots again, reboot resets, delete leaves no QEMU', async (t) => {
  const c = cluster()
  const boot = await bootVolume(t, 'vm-b-boot')
  const data = await c.volume<Volume>('create', 'vm-b-data', '--size', '16M')
  const spare = await c.volume<Volume>('create', 'vm-b-spare', '--size', '16M')
  const { pid } = await client().startInstance(spec('vm-b', [nbdDisk(c, boot.id, true)]))
  await consoleShows('vm-b', 'GUEST-READY')
  await client().attachVolume('vm-b', nbdDisk(c, data.id, false))
  await consoleShows('vm-b', 'GUEST-DATA-OK')

  const stopped = await client().stopInstance('vm-b')
  t.is(stopped.state, 'stopped')
  t.false(await alive(pid!), 'QEMU is gone')
  t.true((await client().console('vm-b')).toString().includes('GUEST-ACPI-POWERDOWN'), 'the guest saw the power button')
  t.deepEqual((await client().listInstances()).map((i) => [i.id, i.state]), [['vm-b', 'stopped']])
  const conflict = await t.throwsAsync(client().attachVolume('vm-b', nbdDisk(c, spare.id, false)), { instanceOf: ComputeError })
  t.is(conflict.code, 'Conflict', 'no hot-plug into a stopped instance')
  t.is((await client().stopInstance('vm-b')).state, 'stopped', 'stopping a stopped instance is a no-op')

  const again = await client().startInstance(spec('vm-b', [nbdDisk(c, boot.id, true)]))
  t.is(again.state, 'running')
  t.not(again.pid, pid)
  t.deepEqual(again.attachments.map((a) => a.serial), [data.id], 'a volume attached live stays attached across stop and start')
  const text = await consoleShows('vm-b', 'GUEST-READY', 2)
  t.true(text.includes(`GUEST-BLK name=vdb sectors=${16 * 2048} ro=0 serial=${data.id.slice(0, 20)}`))
  t.regex(line(text, 'GUEST-DATA-PREV'), /header=GUEST-DATA v1 dev=vdb ts=\d+/, 'the second boot finds what the first wrote')
  const busy = await t.throwsAsync(client().startInstance(spec('vm-b', [nbdDisk(c, boot.id, true)])), { instanceOf: ComputeError })
  t.is(busy.code, 'Conflict')

  await client().rebootInstance('vm-b')
  await consoleShows('vm-b', 'GUEST-READY', 3)
  t.is((await client().getInstance('vm-b')).pid, again.pid, 'a reset keeps the QEMU process')

  await client().deleteInstance('vm-b')
  t.false(await alive(again.pid!))
  t.deepEqual(await qemuPids(join(dir, 'data', 'instances', 'vm-b')), [])
  const gone = await t.throwsAsync(client().getInstance('vm-b'), { instanceOf: ComputeError })
  t.is(gone.code, 'NotFound')
  const free = await qemuIo(c.nbdUri(boot.id), 'write -P 0x22 60M 4k')
  t.is(free.code, 0, `deleted, the boot volume takes a new writer: ${free.stderr}`)
})

test.serial('a restarted agent re-adopts its running QEMU; a QEMU killed with -9 is reported crashed', async (t) => {
  const c = cluster()
  const boot = await bootVolume(t, 'vm-c-boot')
  const data = await c.volume<Volume>('create', 'vm-c-data', '--size', '16M')
  const { pid } = await client().startInstance(spec('vm-c', [nbdDisk(c, boot.id, true)]))
  await consoleShows('vm-c', 'GUEST-READY')
  await client().attachVolume('vm-c', nbdDisk(c, data.id, false))
  await consoleShows('vm-c', 'GUEST-DATA-OK')

  await agent!.kill()
  t.true(await alive(pid!), 'QEMU outlives its agent')
  await agent!.restart()
  const adopted = await client().getInstance('vm-c')
  t.is(adopted.state, 'running')
  t.is(adopted.pid, pid)
  t.true((await client().console('vm-c')).toString().includes('GUEST-BOOT-OK'), 'the console log survives the agent')
  t.deepEqual(adopted.attachments.map((a) => a.serial), [data.id])
  // QMP and the console work again: an unplug is acknowledged and the guest's report is captured.
  await client().detachVolume('vm-c', data.id)
  await consoleShows('vm-c', 'GUEST-HOTPLUG-REMOVE name=vdb')

  process.kill(pid!, 'SIGKILL')
  await until('the agent reports the crash', async () => (await client().getInstance('vm-c')).state === 'crashed')
  const crashed = await client().getInstance('vm-c')
  t.regex(crashed.fault ?? '', /exited unexpectedly/)
  t.is(crashed.pid, undefined)
  await client().deleteInstance('vm-c')
})

test.serial('a QEMU that dies while the agent is down is reported crashed on restart', async (t) => {
  const c = cluster()
  const boot = await bootVolume(t, 'vm-d-boot')
  const { pid } = await client().startInstance(spec('vm-d', [nbdDisk(c, boot.id, true)]))
  await agent!.kill()
  process.kill(pid!, 'SIGKILL')
  await until('QEMU is gone', async () => !await alive(pid!))
  await agent!.restart()
  const info = await client().getInstance('vm-d')
  t.is(info.state, 'crashed')
  t.regex(info.fault ?? '', /while the agent was down/)
  await client().deleteInstance('vm-d')
})

test.serial('bad input gets clear typed errors and leaves nothing behind', async (t) => {
  const c = cluster()
  const code = async (call: Promise<unknown>): Promise<string> =>
    (await t.throwsAsync(call, { instanceOf: ComputeError })).code

  t.is(await code(client().getInstance('no-such-vm')), 'NotFound')
  t.is(await code(client().stopInstance('no-such-vm')), 'NotFound')
  t.is(await code(client().console('no-such-vm')), 'NotFound')
  t.is(await code(client().attachVolume('no-such-vm', { host: '127.0.0.1', port: 1, export: 'x', serial: 'x' })), 'NotFound')
  t.is(await code(client().startInstance(spec('bad/id', [nbdDisk(c, 'v', true)]))), 'InvalidArgument')
  t.is(await code(client().startInstance(spec('no-boot', [nbdDisk(c, 'v', false)]))), 'InvalidArgument')
  t.is(await code(client().startInstance({ ...spec('fw', [nbdDisk(c, 'v', true)]), fwCfg: { 'etc/x': '1' } })), 'InvalidArgument')
  t.is(await code(client().startInstance({ ...spec('huge', [nbdDisk(c, 'v', true)]), ramMiB: 1024 * 1024 })), 'InsufficientCapacity')

  // A port nobody listens on: QEMU fails to connect and the create is undone.
  const closed = createServer()
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve))
  const port = (closed.address() as { port: number }).port
  await new Promise<void>((resolve) => closed.close(() => resolve()))
  const refused = await t.throwsAsync(client().startInstance(spec('refused',
    [{ host: '127.0.0.1', port, export: 'boot', serial: 'vol-x', boot: true }])), { instanceOf: ComputeError })
  t.is(refused.code, 'DiskUnavailable')
  t.regex(refused.message, /refused/i)
  t.is(await code(client().getInstance('refused')), 'NotFound', 'a failed create leaves no instance')

  // An export the gateway does not have.
  t.is(await code(client().startInstance(spec('no-export', [nbdDisk(c, 'no-such-volume', true)]))), 'DiskUnavailable')
  t.deepEqual(await client().listInstances(), [])
  t.deepEqual(await qemuPids(join(dir, 'data')), [])
})
