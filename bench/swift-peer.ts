import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import type { S3Endpoint } from './s3-client.ts'

const run = promisify(execFile)

/**
 * OpenStack Swift's all-in-one with its s3api layer (Debian's swift 2.30),
 * the peer the S3 bench compares against. The setup script is the one
 * measured in the workspace notes (shared/notes/object/saio.sh); point
 * RINGSTACK_SWIFT_SAIO at a copy elsewhere. bench/setup-peers installs the
 * Debian packages it needs.
 */
export class SwiftPeer {
  private readonly script: string
  private base: string | undefined
  readonly port: number

  constructor (port: number) {
    this.port = port
    const repo = resolve(fileURLToPath(new URL('..', import.meta.url)))
    this.script = process.env.RINGSTACK_SWIFT_SAIO ?? join(repo, '..', 'shared', 'notes', 'object', 'saio.sh')
  }

  available (): boolean {
    return existsSync(this.script) && existsSync('/usr/bin/swift-ring-builder')
  }

  async start (): Promise<S3Endpoint> {
    this.base = await mkdtemp(join(tmpdir(), 'ringstack-bench-swift-'))
    await run('bash', [this.script, 'reset'], { env: this.env(), maxBuffer: 16 * 1024 * 1024 })
    return { url: new URL(`http://127.0.0.1:${this.port}`), accessKeyId: 'test:tester', secretAccessKey: 'testing' }
  }

  async stop (): Promise<void> {
    if (this.base === undefined) return
    await run('bash', [this.script, 'wipe'], { env: this.env() }).catch(() => {})
    await rm(this.base, { recursive: true, force: true })
    this.base = undefined
  }

  private env (): NodeJS.ProcessEnv {
    return { ...process.env, SAIO_BASE: this.base, PROXY_PORT: String(this.port) }
  }
}
