import { randomBytes, scrypt, timingSafeEqual, type BinaryLike } from 'node:crypto'

const KEY_BYTES = 32

function derive (password: BinaryLike, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scrypt(password, salt, KEY_BYTES, (err, key) => { if (err === null) resolve(key); else reject(err) })
  })
}

/** `scrypt$<salt>$<key>` (base64url): what the control store keeps instead of a password. */
export async function hashPassword (password: string): Promise<string> {
  const salt = randomBytes(16)
  return `scrypt$${salt.toString('base64url')}$${(await derive(password, salt)).toString('base64url')}`
}

export async function verifyPassword (password: string, stored: string): Promise<boolean> {
  const [scheme, salt, key] = stored.split('$')
  if (scheme !== 'scrypt' || salt === undefined || key === undefined) return false
  const expected = Buffer.from(key, 'base64url')
  const actual = await derive(password, Buffer.from(salt, 'base64url'))
  return actual.length === expected.length && timingSafeEqual(actual, expected)
}
