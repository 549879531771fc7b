import { createHash, randomBytes } from 'node:crypto'
import { open, readFile } from 'node:fs/promises'
import type { RunningAllInOne } from '../helpers/all-in-one.ts'
import { countChunkFiles } from '../volumes/chunk-files.ts'
import { tool } from '../volumes/tools.ts'

export const MiB = 1024 * 1024

export interface Image {
  id: string
  name: string
  status: string
  disk_format: string
  size: number | null
  checksum: string | null
  os_hash_algo: string | null
  os_hash_value: string | null
  visibility: string
  [property: string]: unknown
}

/** A Keystone token for the cluster's admin, as any OpenStack client gets one. */
export async function adminToken (c: RunningAllInOne): Promise<string> {
  const response = await fetch(`${c.endpoint}/identity/v3/auth/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ auth: { identity: { methods: ['password'], password: { user: { name: 'admin', password: c.adminPassword } } }, scope: { project: { name: 'admin' } } } })
  })
  const token = response.headers.get('x-subject-token')
  if (token === null) throw new Error(`login failed: ${response.status} ${await response.text()}`)
  return token
}

/** A request to the Glance API (`/image/v2<path>`), with the token unless it is undefined. */
export async function glance (c: RunningAllInOne, token: string | undefined, method: string, path: string,
  init: { json?: unknown, body?: Buffer, headers?: Record<string, string> } = {}): Promise<Response> {
  const headers: Record<string, string> = { ...(token === undefined ? {} : { 'x-auth-token': token }), ...init.headers }
  if (init.json !== undefined) headers['content-type'] ??= 'application/json'
  if (init.body !== undefined) headers['content-type'] ??= 'application/octet-stream'
  return await fetch(`${c.endpoint}/image/v2${path}`, {
    method, headers, body: init.json !== undefined ? JSON.stringify(init.json) : init.body
  })
}

/**
 * A sparse raw disk of `size` bytes at `path`: random data at the start, in
 * the middle (not aligned) and at the end, holes in between.
 */
export async function sparseDisk (path: string, size: number): Promise<void> {
  const file = await open(path, 'w')
  try {
    await file.truncate(size)
    await file.write(randomBytes(MiB), 0, MiB, 0)
    await file.write(randomBytes(3000), 0, 3000, Math.floor(size / 2) + 512 + 7)
    await file.write(randomBytes(64 * 1024), 0, 64 * 1024, size - 64 * 1024)
  } finally {
    await file.close()
  }
}

/** qcow2 made by qemu-img from a raw file. */
export async function toQcow2 (raw: string, qcow2: string): Promise<void> {
  const run = await tool('qemu-img', ['convert', '-f', 'raw', '-O', 'qcow2', raw, qcow2])
  if (run.code !== 0) throw new Error(`qemu-img convert: ${run.stderr}`)
}

export async function digests (path: string): Promise<{ md5: string, sha512: string }> {
  const data = await readFile(path)
  return { md5: createHash('md5').update(data).digest('hex'), sha512: createHash('sha512').update(data).digest('hex') }
}

/** Resolves once the cluster holds `expected` chunk files (layers are dropped in the background). */
export async function chunkFilesSettle (c: RunningAllInOne, expected: number, timeoutMs = 60_000): Promise<number> {
  let count = await countChunkFiles(c.dir)
  for (const until = Date.now() + timeoutMs; count !== expected && Date.now() < until;) {
    await new Promise((resolve) => setTimeout(resolve, 250))
    count = await countChunkFiles(c.dir)
  }
  return count
}
