import { randomBytes } from 'node:crypto'
import { readFile, writeFile } from 'node:fs/promises'
import { RingstackError } from '../lib/errors.ts'

/** The one S3 key pair a new cluster starts with, like MinIO's root user. */
export interface BootstrapCredentials {
  accessKeyId: string
  secretAccessKey: string
  /** The project the key acts for; its buckets live in account AUTH_<project>. */
  project: string
}

/**
 * Reads the key pair from `path`, creating it on first start from
 * RINGSTACK_S3_ACCESS_KEY / RINGSTACK_S3_SECRET_KEY or, when those are
 * unset, from fresh random values. `created` tells the caller to print it.
 */
export async function ensureBootstrapCredentials (path: string, env: NodeJS.ProcessEnv = process.env):
Promise<{ credentials: BootstrapCredentials, created: boolean }> {
  try {
    return { credentials: parse(await readFile(path, 'utf8'), path), created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const credentials: BootstrapCredentials = {
    accessKeyId: env.RINGSTACK_S3_ACCESS_KEY ?? `RS${randomBytes(9).toString('hex').toUpperCase()}`,
    secretAccessKey: env.RINGSTACK_S3_SECRET_KEY ?? randomBytes(30).toString('base64url'),
    project: 'admin'
  }
  await writeFile(path, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return { credentials, created: true }
}

export async function readBootstrapCredentials (path: string): Promise<BootstrapCredentials> {
  return parse(await readFile(path, 'utf8'), path)
}

function parse (text: string, path: string): BootstrapCredentials {
  const raw = JSON.parse(text) as Partial<BootstrapCredentials>
  if (typeof raw.accessKeyId !== 'string' || typeof raw.secretAccessKey !== 'string' || typeof raw.project !== 'string') {
    throw new RingstackError('InvalidConfig', `${path}: needs accessKeyId, secretAccessKey and project`)
  }
  return { accessKeyId: raw.accessKeyId, secretAccessKey: raw.secretAccessKey, project: raw.project }
}

/** The bootstrap admin's login (user `admin` in project `admin`), for the OpenStack APIs and the CLI. */
export interface AdminCredentials {
  user: string
  project: string
  password: string
}

/**
 * Reads the admin login from `path`, creating it on first start from
 * RINGSTACK_ADMIN_PASSWORD or a fresh random password. `created` tells the
 * caller to print it.
 */
export async function ensureAdminCredentials (path: string, env: NodeJS.ProcessEnv = process.env):
Promise<{ credentials: AdminCredentials, created: boolean }> {
  try {
    return { credentials: await readAdminCredentials(path), created: false }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const credentials: AdminCredentials = { user: 'admin', project: 'admin', password: env.RINGSTACK_ADMIN_PASSWORD ?? randomBytes(18).toString('base64url') }
  await writeFile(path, JSON.stringify(credentials, null, 2) + '\n', { mode: 0o600, flag: 'wx' })
  return { credentials, created: true }
}

export async function readAdminCredentials (path: string): Promise<AdminCredentials> {
  const raw = JSON.parse(await readFile(path, 'utf8')) as Partial<AdminCredentials>
  if (raw.user !== 'admin' || raw.project !== 'admin' || typeof raw.password !== 'string' || raw.password === '') {
    throw new RingstackError('InvalidConfig', `${path}: needs user "admin", project "admin" and a password`)
  }
  return { user: raw.user, project: raw.project, password: raw.password }
}
