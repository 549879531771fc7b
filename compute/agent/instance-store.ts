import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import type { InstancePaths, PlacedDisk } from './qemu-command.ts'
import type { InstanceSpec, InstanceState } from './types.ts'

/** What the agent keeps per instance, so a restarted agent can take its QEMU over again. */
export interface InstanceRecord {
  spec: InstanceSpec
  /** What the instance should be: 'running' while QEMU is meant to run, even if it died since. */
  state: InstanceState
  pid?: number
  sshPort?: number
  /** Volumes attached live, with the block node names QEMU knows them by. */
  attachments: PlacedDisk[]
  /** Next attachment's node number: names are never reused within a QEMU's life. */
  nextNode: number
  fault?: string
}

/** Linux's sun_path is 108 bytes with the terminating NUL. */
export const MAX_SOCKET_PATH_BYTES = 107

/** The agent's data dir: one directory per instance holding its record and QEMU's sockets and logs. */
export class InstanceStore {
  private readonly root: string

  constructor (dataDir: string) {
    this.root = join(dataDir, 'instances')
  }

  paths (id: string): InstancePaths {
    const dir = join(this.root, id)
    return {
      dir,
      record: join(dir, 'instance.json'),
      qmpSocket: join(dir, 'qmp.sock'),
      consoleSocket: join(dir, 'console.sock'),
      consoleLog: join(dir, 'console.log'),
      qemuLog: join(dir, 'qemu.log')
    }
  }

  async ids (): Promise<string[]> {
    await mkdir(this.root, { recursive: true })
    return (await readdir(this.root, { withFileTypes: true })).filter((e) => e.isDirectory()).map((e) => e.name)
  }

  /** undefined for a directory without a record (a create that died half-way). */
  async read (id: string): Promise<InstanceRecord | undefined> {
    const text = await readFile(this.paths(id).record, 'utf8').catch(() => undefined)
    return text === undefined ? undefined : JSON.parse(text) as InstanceRecord
  }

  /** Written to a temp file and renamed: a crash leaves the old record or the new one. */
  async write (record: InstanceRecord): Promise<void> {
    const { dir, record: path } = this.paths(record.spec.id)
    await mkdir(dir, { recursive: true })
    await writeFile(`${path}.tmp`, `${JSON.stringify(record, null, 2)}\n`)
    await rename(`${path}.tmp`, path)
  }

  async remove (id: string): Promise<void> {
    await rm(this.paths(id).dir, { recursive: true, force: true })
  }
}
