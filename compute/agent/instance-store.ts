import { createHash } from 'node:crypto'
import { lstat, mkdir, readdir, readFile, rename, rm, rmdir, writeFile } from 'node:fs/promises'
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

/**
 * Where an agent's QEMU sockets live: a short path derived from its data
 * dir alone, so any data dir fits sun_path and a restarted agent finds the
 * sockets of the QEMUs it re-adopts. Fixed under /tmp (not TMPDIR or
 * XDG_RUNTIME_DIR) because a different environment on restart must not
 * lose them.
 */
export function socketRoot (dataDir: string): string {
  return join('/tmp', `ringstack-${createHash('sha256').update(dataDir).digest('hex').slice(0, 12)}`)
}

/**
 * The agent's data dir: one directory per instance holding its record and
 * logs; QEMU's sockets sit in a directory of the same name under the
 * socket root.
 */
export class InstanceStore {
  private readonly root: string
  private readonly sockets: string

  constructor (dataDir: string, sockets = socketRoot(dataDir)) {
    this.root = join(dataDir, 'instances')
    this.sockets = sockets
  }

  paths (id: string): InstancePaths {
    const dir = join(this.root, id)
    const socketDir = join(this.sockets, id)
    return {
      dir,
      socketDir,
      record: join(dir, 'instance.json'),
      pidFile: join(dir, 'qemu.pid'),
      qmpSocket: join(socketDir, 'qmp.sock'),
      consoleSocket: join(socketDir, 'console.sock'),
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
    const { dir, socketDir } = this.paths(id)
    await rm(dir, { recursive: true, force: true })
    await rm(socketDir, { recursive: true, force: true })
    // The last instance takes the socket root with it; an agent without instances leaves nothing in /tmp.
    await rmdir(this.sockets).catch(() => {})
  }

  /**
   * Makes the instance's socket directory, in a socket root that must be
   * our own private directory: /tmp is shared, and another user could
   * have planted one.
   */
  async prepareSockets (id: string): Promise<void> {
    await mkdir(this.sockets, { recursive: true, mode: 0o700 })
    const stat = await lstat(this.sockets)
    if (!stat.isDirectory() || stat.uid !== process.getuid?.() || (stat.mode & 0o077) !== 0) {
      throw new Error(`${this.sockets} must be a directory owned by this user with mode 0700`)
    }
    await mkdir(this.paths(id).socketDir, { recursive: true, mode: 0o700 })
  }
}
